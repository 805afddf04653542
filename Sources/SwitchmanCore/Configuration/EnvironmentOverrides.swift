/// Writes `SWITCHMAN_*` environment variables into the configuration tree before it is decoded.
///
/// The rule: a key's path, upper-cased, joined by `_`, prefixed `SWITCHMAN_`
/// (`timeouts.connect` → `SWITCHMAN_TIMEOUTS_CONNECT`); a listener's keys go by its name
/// (`SWITCHMAN_LISTENER_<NAME>_<KEY>`, the name upper-cased with `-` and `.` as `_`). List values
/// are comma-separated. An override for a key the file lacks adds it (and its parent mappings).
/// Values are checked by the same decoder as the file; their errors name the variable.
enum EnvironmentOverrides {
    /// Variables read elsewhere (by the command line) that the configuration leaves alone.
    static let reserved: Set<String> = [
        "SWITCHMAN_CONFIG", "SWITCHMAN_LOG_LEVEL", "SWITCHMAN_LOG_FORMAT", "SWITCHMAN_BIN", "SWITCHMAN_CTL_USER", "SWITCHMAN_CTL_PASSWORD",
    ]
    /// Prefixes left to test scripts and tools around Switchman.
    static let reservedPrefixes = ["SWITCHMAN_TEST_"]

    /// The global overrides: variable name → key path.
    static let globalVariables: [String: [String]] = Dictionary(
        uniqueKeysWithValues: ConfigurationSchema.overridablePaths.map { (ConfigurationSchema.environmentName($0), $0) })

    /// `root` with every `SWITCHMAN_*` variable of `environment` applied, in name order.
    static func apply(_ environment: [String: String], to root: ConfigNode) throws(ConfigurationError) -> ConfigNode {
        var root = root
        let variables = environment.keys.filter(isConfigurationVariable).sorted()
        guard !variables.isEmpty else { return root }
        guard case .mapping = root else {
            // The file's top level is not a mapping: the decoder reports that against the file.
            return root
        }
        for variable in variables {
            // Cannot be nil: `variables` are keys of `environment`.
            let text = environment[variable] ?? ""
            if let path = globalVariables[variable] {
                root = try set(root, path[...], value(text, isList: ConfigurationSchema.listPaths.contains(path), variable), variable)
            } else if let (index, key) = try listenerTarget(of: variable, in: root) {
                root = try setListener(root, index: index, key: key, value(text, isList: key == "servers", variable), variable)
            } else {
                throw unknown(variable, root: root)
            }
        }
        return root
    }

    /// Whether the configuration must understand `variable`.
    static func isConfigurationVariable(_ variable: String) -> Bool {
        variable.hasPrefix(ConfigurationSchema.environmentPrefix) && !reserved.contains(variable)
            && !reservedPrefixes.contains(where: variable.hasPrefix)
    }

    /// The node a variable's text becomes: a scalar, or for a list key a list split at commas.
    private static func value(_ text: String, isList: Bool, _ variable: String) -> ConfigNode {
        let origin = ConfigOrigin.environment(variable: variable)
        guard isList else { return .scalar(text, isNull: text.isEmpty, origin: origin) }
        let items = text.trimmingSpaces.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false)
        return .sequence(items.map { .scalar(String($0).trimmingSpaces, isNull: false, origin: origin) }, origin: origin)
    }

    /// `node` with the value at `path` replaced by (or, when absent, added as) `value`. A value on the
    /// way that is not a mapping (`tcp_keepalive: off`) is replaced by one, unless a variable set it.
    private static func set(
        _ node: ConfigNode?, _ path: ArraySlice<String>, _ value: ConfigNode, _ variable: String
    ) throws(ConfigurationError) -> ConfigNode {
        guard let key = path.first else {
            // `SWITCHMAN_TCP_KEEPALIVE=on` over a keepalive mapping keeps the file's settings.
            if case .mapping? = node, case .scalar(let text, false, _) = value, MappingReader.boolean(text) == true {
                return node ?? value
            }
            return value
        }
        var entries: [ConfigEntry] = []
        var origin = ConfigOrigin.environment(variable: variable)
        switch node {
        case .mapping(let existing, let existingOrigin)?:
            entries = existing
            origin = existingOrigin
        case let other?:
            if case .environment(let setter) = other.origin, case .scalar(_, false, _) = other {
                throw ConfigurationError(
                    file: ConfigurationDecoder.environmentFile, line: nil, key: variable, message: "conflicts with \(setter)")
            }
        default:
            break
        }
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = try set(entries[index].value, path.dropFirst(), value, variable)
        } else {
            let child = try set(nil, path.dropFirst(), value, variable)
            entries.append(ConfigEntry(key: key, keyOrigin: .environment(variable: variable), value: child))
        }
        return .mapping(entries, origin: origin)
    }

    /// The names of the file's listeners with their index (entries without a usable name are skipped:
    /// the decoder reports them).
    private static func listenerNames(in root: ConfigNode) -> [(index: Int, name: String)] {
        guard case .sequence(let items, _)? = root["listeners"] else { return [] }
        return items.enumerated().compactMap { index, item in
            guard case .scalar(let name, false, _)? = item["name"] else { return nil }
            return (index, name)
        }
    }

    /// The listener index and key `variable` sets, `nil` when it names no listener of the file.
    private static func listenerTarget(of variable: String, in root: ConfigNode) throws(ConfigurationError) -> (Int, String)? {
        var matches: [(index: Int, name: String, key: String)] = []
        for (index, name) in listenerNames(in: root) {
            for key in ConfigurationSchema.overridableListenerKeys
            where ConfigurationSchema.environmentName(listener: name, key: key) == variable {
                matches.append((index, name, key))
            }
        }
        if matches.count > 1 {
            let readings = matches.map { "key \($0.key) of listener \"\($0.name)\"" }.joined(separator: " or ")
            throw ConfigurationError(
                file: ConfigurationDecoder.environmentFile, line: nil, key: variable,
                message: "ambiguous: \(readings); rename a listener")
        }
        return matches.first.map { ($0.index, $0.key) }
    }

    /// `root` with `key` of listener `index` set.
    private static func setListener(
        _ root: ConfigNode, index: Int, key: String, _ value: ConfigNode, _ variable: String
    ) throws(ConfigurationError) -> ConfigNode {
        guard case .mapping(var entries, let origin) = root,
            let listenersIndex = entries.firstIndex(where: { $0.key == "listeners" }),
            case .sequence(var items, let listOrigin) = entries[listenersIndex].value
        else { return root }
        items[index] = try set(items[index], [key][...], value, variable)
        entries[listenersIndex].value = .sequence(items, origin: listOrigin)
        return .mapping(entries, origin: origin)
    }

    /// The error for a `SWITCHMAN_*` variable that sets nothing.
    private static func unknown(_ variable: String, root: ConfigNode) -> ConfigurationError {
        let names = listenerNames(in: root).map(\.name)
        var message = "unknown variable"
        if variable.hasPrefix(ConfigurationSchema.environmentPrefix + "LISTENER_") {
            let known = names.map { ConfigurationSchema.environmentName(listener: $0) }
            message =
                known.isEmpty
                ? "no listener of the file matches (the file has no named listener)"
                : "no listener of the file matches: expected SWITCHMAN_LISTENER_<NAME>_<KEY> with NAME one of "
                    + known.joined(separator: ", ")
        }
        let candidates =
            Array(globalVariables.keys)
            + names.flatMap { name in
                ConfigurationSchema.overridableListenerKeys.map { ConfigurationSchema.environmentName(listener: name, key: $0) }
            }
        if let near = KeySuggestion.closest(to: variable, among: candidates.sorted()) {
            message += "; did you mean \(near)?"
        }
        return ConfigurationError(file: ConfigurationDecoder.environmentFile, line: nil, key: variable, message: message)
    }
}
