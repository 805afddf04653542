// libFuzzer harness for the configuration loader: YAML text (and `SWITCHMAN_*` overrides) →
// `ProxyConfiguration`, or a `ConfigurationError` that names where the problem is. Built by
// scripts/fuzz.sh against an instrumented SwitchmanCore and Yams (libyaml included).
//
// Input: the text of a proxy.conf; a line `%%` ends it, and each later `NAME=value` line becomes an
// environment variable. Invariants are `precondition`s, so a violation is a crash libFuzzer reports:
// - parsing never crashes and is deterministic (the same configuration, or the same error);
// - an error names the file (or `environment` with the variable as its key, and no line) and a
//   line inside the text; its description starts `FILE:LINE: ` accordingly;
// - a configuration reloaded over itself is itself, and needs no restart.

import Foundation
@testable import SwitchmanCore

private let file = "fuzz.conf"

/// Entry point libFuzzer calls once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    var yamlLines: [Substring] = []
    var environment: [String: String] = [:]
    var inEnvironment = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if inEnvironment {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        } else if line == "%%" {
            inEnvironment = true
        } else {
            yamlLines.append(line)
        }
    }
    let yaml = yamlLines.joined(separator: "\n")

    let first = parse(yaml, environment)
    require(parse(yaml, environment) == first, "parsing is not deterministic")
    switch first {
    case .success(let configuration):
        require(configuration.applied(over: configuration) == configuration, "reload over itself changed it")
        require(configuration.changesNeedingRestart(from: configuration).isEmpty, "reload over itself needs a restart")
        require(!configuration.listeners.isEmpty, "a configuration without listeners")
    case .failure(let error):
        check(error, yaml: yaml, environment: environment)
    }
    return 0
}

private func parse(_ yaml: String, _ environment: [String: String]) -> Result<ProxyConfiguration, ConfigurationError> {
    Result { () throws(ConfigurationError) in
        try ConfigurationLoader.parse(yaml: yaml, file: file, environment: environment)
    }
}

private func check(_ error: ConfigurationError, yaml: String, environment: [String: String]) {
    require(!error.message.isEmpty, "an error without a message")
    if error.file == "environment" {
        require(error.line == nil, "an environment error with a line")
        require(environment[error.key] != nil, "environment error names \(error.key), not a variable given")
        require(startsWith(error.description, "environment: \(error.key): "), error.description)
        return
    }
    require(error.file == file, "error names file \(error.file)")
    // YAML's line breaks: LF, CR, CR LF (one Character), NEL, LS, PS.
    let lineCount = yaml.reduce(1) { ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"].contains($1) ? $0 + 1 : $0 }
    if let line = error.line {
        require(line >= 1 && line <= lineCount, "line \(line) outside the \(lineCount) lines: \(error)")
        require(startsWith(error.description, "\(file):\(line): "), error.description)
    } else {
        require(startsWith(error.description, "\(file): "), error.description)
    }
}

/// A byte-wise prefix test: `hasPrefix` compares grapheme clusters, and a key that starts with a
/// combining mark joins the space before it into one cluster, so the message's prefix would not match.
private func startsWith(_ text: String, _ prefix: String) -> Bool {
    text.utf8.starts(with: prefix.utf8)
}

/// `precondition` that prints its message in an optimized build too (then aborts for libFuzzer).
private func require(_ condition: Bool, _ message: @autoclosure () -> String = "", line: UInt = #line) {
    guard !condition else { return }
    FileHandle.standardError.write(Data("fuzz invariant broken at line \(line): \(message())\n".utf8))
    abort()
}
