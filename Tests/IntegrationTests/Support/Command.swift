import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process run to completion with a time limit, its output captured.
struct CommandResult: Sendable {
    /// Exit status (or 128 + signal).
    let status: Int32
    /// stdout and stderr, interleaved.
    let output: String
}

enum Command {
    /// Runs `executable arguments` with stdout+stderr captured, killing it after `timeout`.
    /// Runs off the cooperative pool.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration, stdin: String? = nil) async throws -> CommandResult {
        try await offPool { try runBlocking(executable, arguments, timeout: timeout, stdin: stdin) }
    }

    /// Like `run`, but throws with the output when the status is not 0.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String], timeout: Duration, stdin: String? = nil) async throws -> String {
        let result = try await run(executable, arguments, timeout: timeout, stdin: stdin)
        guard result.status == 0 else {
            throw IntegrationError("\(([executable] + arguments).joined(separator: " ")) exited with \(result.status):\n\(result.output.suffix(4000))")
        }
        return result.output
    }

    static func runBlocking(_ executable: String, _ arguments: [String], timeout: Duration, stdin: String? = nil) throws -> CommandResult {
        // Output goes to a file rather than a pipe: a chatty child can never block on a full pipe.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-it-cmd-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".in")
        }
        var input = "/dev/null"
        if let stdin {
            input = base + ".in"
            try stdin.write(toFile: input, atomically: false, encoding: .utf8)
        }
        let pid = try Spawn.start(executable, arguments, stdin: input, output: base + ".out")
        let (status, timedOut) = Spawn.wait(pid, timeout: timeout)
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        if timedOut {
            throw IntegrationError("\(([executable] + arguments).joined(separator: " ")) did not finish within \(timeout); output:\n\(output.suffix(4000))")
        }
        return CommandResult(status: status, output: output)
    }
}
