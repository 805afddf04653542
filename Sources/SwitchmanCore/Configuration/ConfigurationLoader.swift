import Foundation
import Yams

/// Reads `proxy.conf` (YAML) and `SWITCHMAN_*` environment overrides into a checked
/// `ProxyConfiguration`, or an error naming file, line and key.
///
/// See `docs/CONFIGURATION.md` for every key and variable, and `proxy.conf.example`.
public enum ConfigurationLoader {
    /// The variable naming the configuration file.
    public static let configVariable = "SWITCHMAN_CONFIG"

    /// `SWITCHMAN_*` variables that are not configuration keys and are left to the command line
    /// (`SWITCHMAN_CONFIG`, `SWITCHMAN_LOG_LEVEL`, `SWITCHMAN_LOG_FORMAT`). Variables starting with
    /// `SWITCHMAN_TEST_` are reserved for test scripts as well.
    public static let reservedEnvironmentVariables: [String] = EnvironmentOverrides.reserved.sorted()

    /// The configuration file to read: `SWITCHMAN_CONFIG` when set and not empty, else `path`.
    public static func configPath(environment: [String: String], default path: String) -> String {
        if let configured = environment[configVariable], !configured.isEmpty { return configured }
        return path
    }

    /// Every variable that can override a key of a configuration whose listeners have these names,
    /// in document order (the global keys, then each listener's).
    public static func environmentVariables(listenerNames: [String]) -> [String] {
        ConfigurationSchema.overridablePaths.map(ConfigurationSchema.environmentName)
            + listenerNames.flatMap { name in
                ConfigurationSchema.overridableListenerKeys.map { ConfigurationSchema.environmentName(listener: name, key: $0) }
            }
    }

    /// Reads the file at `path` and applies the `SWITCHMAN_*` variables of `environment`.
    public static func load(path: String, environment: [String: String]) throws(ConfigurationError) -> ProxyConfiguration {
        try parse(yaml: readFile(path), file: path, environment: environment)
    }

    /// Parses `yaml` (named `file` in errors) and applies the `SWITCHMAN_*` variables of `environment`.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws(ConfigurationError)
        -> ProxyConfiguration
    {
        let overridden = try EnvironmentOverrides.apply(environment, to: tree(yaml: yaml, file: file))
        return try ConfigurationDecoder(file: file).decode(overridden)
    }

    /// The YAML document as a tree of strings with their lines; an empty document is an empty mapping.
    static func tree(yaml: String, file: String) throws(ConfigurationError) -> ConfigNode {
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, file: file, yaml: yaml)
        } catch {
            throw ConfigurationError(file: file, line: nil, key: "", message: "invalid YAML: \(error)")
        }
        guard let composed else { return .mapping([], origin: .file(line: nil)) }
        return try ConfigNode(yaml: composed, path: "", file: file, lastLine: lastLine(of: yaml))
    }

    /// The number of the text's last line. Past the end of a text without a final newline, libyaml
    /// counts one line more than it has, so its marks are capped at this. (Its line breaks: LF, CR,
    /// CR LF, NEL, LS, PS; "\r\n" is one Character.)
    static func lastLine(of yaml: String) -> Int {
        yaml.reduce(1) { ["\n", "\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"].contains($1) ? $0 + 1 : $0 }
    }

    /// The file's text, or an error saying why it cannot be had.
    private static func readFile(_ path: String) throws(ConfigurationError) -> String {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigurationError(file: path, line: nil, key: "", message: "no such file")
        }
        if isDirectory.boolValue {
            throw ConfigurationError(file: path, line: nil, key: "", message: "is a directory, not a configuration file")
        }
        guard let data = files.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: nil, key: "", message: "cannot be read (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, line: nil, key: "", message: "is not UTF-8 text")
        }
        return text
    }

    /// A YAML syntax error as a configuration error at the line libyaml reports.
    private static func syntaxError(_ error: YamlError, file: String, yaml: String) -> ConfigurationError {
        func located(_ problem: String, _ mark: Mark, _ context: YamlError.Context?) -> ConfigurationError {
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return ConfigurationError(file: file, line: min(mark.line, lastLine(of: yaml)), key: "", message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(problem, mark, context)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in yaml.prefix(offset).filter { $0 == "\n" }.count + 1 }
            return ConfigurationError(file: file, line: line, key: "", message: "invalid YAML: \(problem)")
        default:
            return ConfigurationError(file: file, line: nil, key: "", message: "invalid YAML: \(error)")
        }
    }
}
