/// One mapping of the configuration, read key by key: checks that it is a mapping with only known
/// keys, and turns each value into its type or into an error naming where it was written.
///
/// Every accessor returns `nil` for a key that is absent or has no value (`key:`, `key: ~`, an empty
/// environment variable), so the caller falls back to the default from the configuration struct.
struct MappingReader {
    /// Builds errors with the right file.
    let decoder: ConfigurationDecoder
    /// Path of this mapping (`listeners[0]`, `cluster.zookeeper`, empty for the top level).
    let path: String
    /// Where the mapping starts.
    let origin: ConfigOrigin
    /// Its entries, in document order.
    let entries: [ConfigEntry]

    /// Reads `node` as a mapping whose keys must all be in `known`.
    init(_ node: ConfigNode, path: String, known: [String], decoder: ConfigurationDecoder) throws(ConfigurationError) {
        guard case .mapping(let entries, let origin) = node else {
            throw decoder.error(node.origin, path, "expected a mapping, got \(node.shownValue)")
        }
        self.decoder = decoder
        self.path = path
        self.origin = origin
        self.entries = entries
        for entry in entries where !known.contains(entry.key) {
            var message = "unknown key \"\(entry.key)\""
            if let near = KeySuggestion.closest(to: entry.key, among: known) {
                message += "; did you mean \"\(near)\"?"
            }
            throw decoder.error(entry.keyOrigin, self.path(entry.key), message)
        }
    }

    /// The path of `key` inside this mapping.
    func path(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The value of `key`, or `nil` when it is absent or null.
    func node(_ key: String) -> ConfigNode? {
        guard let value = entries.first(where: { $0.key == key })?.value else { return nil }
        if case .scalar(_, true, _) = value { return nil }
        return value
    }

    /// The error for a required `key` that has no value.
    func missing(_ key: String, _ message: String = "required key is missing") -> ConfigurationError {
        if case .environment = origin {
            // The mapping was created by a variable: say which key it still lacks.
            return decoder.error(origin, path(key), "\(path(key)) is required but neither the file nor the environment sets it")
        }
        return decoder.error(origin, path(key), message)
    }

    /// The error for a bad value of `key`.
    func invalid(_ key: String, _ message: String) -> ConfigurationError {
        decoder.error(node(key)?.origin ?? origin, path(key), message)
    }

    // MARK: Typed accessors

    /// The text of a scalar value, or an error saying `expected` when the value is a list or mapping.
    func scalar(_ key: String, expected: String) throws(ConfigurationError) -> String? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let text, _, _) = value else {
            throw invalid(key, "expected \(expected), got \(value.shownValue)")
        }
        return text
    }

    /// A non-empty string.
    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let text = try scalar(key, expected: "a string") else { return nil }
        if text.isEmpty { throw invalid(key, "must not be empty") }
        return text
    }

    /// A whole number within `range`.
    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = try scalar(key, expected: "a whole number") else { return nil }
        guard let value = Int(text.trimmingSpaces) else {
            throw invalid(key, "expected a whole number, got \"\(text)\"")
        }
        try check(key, value, in: range, shown: String(value))
        return value
    }

    /// `true`/`false` (also `yes`/`no`, `on`/`off`, any case).
    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let text = try scalar(key, expected: "true or false") else { return nil }
        guard let value = Self.boolean(text) else {
            throw invalid(key, "expected true or false, got \"\(text)\"")
        }
        return value
    }

    /// A duration of at least `minimum` (zero or one nanosecond, i.e. "greater than 0").
    func duration(_ key: String, atLeast minimum: Duration = .zero) throws(ConfigurationError) -> Duration? {
        guard let text = try scalar(key, expected: "a duration") else { return nil }
        guard let value = DurationParser.parse(text) else {
            if text.trimmingSpaces.hasPrefix("-"), DurationParser.parse(String(text.trimmingSpaces.dropFirst())) != nil {
                throw invalid(key, "must not be negative, got \"\(text)\"")
            }
            throw invalid(key, "expected a duration such as 250ms, 4s, 30m, 2h, 1d (a bare number is seconds), got \"\(text)\"")
        }
        if value < minimum {
            let bound = minimum == .nanoseconds(1) ? "greater than 0" : "at least \(minimum.humanReadable)"
            throw invalid(key, "must be \(bound), got \"\(text)\"")
        }
        return value
    }

    /// A duration in whole seconds within `range` (for kernel settings counted in seconds).
    func wholeSeconds(_ key: String, in range: ClosedRange<Int64>) throws(ConfigurationError) -> Duration? {
        guard let value = try duration(key) else { return nil }
        let (seconds, attoseconds) = value.components
        guard attoseconds == 0 else { throw invalid(key, "must be a whole number of seconds, got \"\(value.humanReadable)\"") }
        guard range.contains(seconds) else {
            throw invalid(key, "must be from \(range.lowerBound)s to \(range.upperBound)s, got \"\(value.humanReadable)\"")
        }
        return value
    }

    /// A size in bytes within `range`.
    func size(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = try scalar(key, expected: "a size") else { return nil }
        guard let value = SizeParser.parse(text) else {
            if text.trimmingSpaces.hasPrefix("-"), SizeParser.parse(String(text.trimmingSpaces.dropFirst())) != nil {
                throw invalid(key, "must not be negative, got \"\(text)\"")
            }
            throw invalid(key, "expected a size such as 64KB, 16MB, 1GB (1024-based) or a number of bytes, got \"\(text)\"")
        }
        try check(key, value, in: range, shown: "\"\(text)\"", format: SizeParser.format)
        return value
    }

    /// One of the raw values of `T`.
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws(ConfigurationError) -> T?
    where T.RawValue == String {
        let names = T.allCases.map(\.rawValue)
        let expected = "one of " + names.joined(separator: ", ")
        guard let text = try scalar(key, expected: expected) else { return nil }
        guard let value = T(rawValue: text.trimmingSpaces) else {
            throw invalid(key, "expected \(expected), got \"\(text)\"")
        }
        return value
    }

    /// A `host:port` endpoint.
    func endpoint(_ key: String, allowPortZero: Bool) throws(ConfigurationError) -> Endpoint? {
        guard let text = try scalar(key, expected: "host:port") else { return nil }
        do {
            return try EndpointParser.parse(text, allowPortZero: allowPortZero)
        } catch {
            throw invalid(key, error.message)
        }
    }

    /// A list of `host:port` endpoints, each at most once; `[]` when the list is empty.
    func endpoints(_ key: String) throws(ConfigurationError) -> [Endpoint]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let items, _) = value else {
            throw invalid(key, "expected a list of host:port, got \(value.shownValue)")
        }
        var endpoints: [Endpoint] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path(key))[\(index)]"
            guard case .scalar(let text, _, _) = item else {
                throw decoder.error(item.origin, itemPath, "expected host:port, got \(item.shownValue)")
            }
            let endpoint: Endpoint
            do {
                endpoint = try EndpointParser.parse(text)
            } catch {
                throw decoder.error(item.origin, itemPath, error.message)
            }
            if endpoints.contains(endpoint) {
                throw decoder.error(item.origin, itemPath, "\(endpoint) is listed twice")
            }
            endpoints.append(endpoint)
        }
        return endpoints
    }

    /// A nested mapping with only `known` keys.
    func mapping(_ key: String, known: [String]) throws(ConfigurationError) -> MappingReader? {
        guard let value = node(key) else { return nil }
        return try MappingReader(value, path: path(key), known: known, decoder: decoder)
    }

    /// Throws unless `value` is within `range`.
    private func check(
        _ key: String, _ value: Int, in range: ClosedRange<Int>, shown: String, format: (Int) -> String = { String($0) }
    ) throws(ConfigurationError) {
        if range.contains(value) { return }
        let message =
            if range.upperBound == .max {
                "must be at least \(format(range.lowerBound))"
            } else {
                "must be from \(format(range.lowerBound)) to \(format(range.upperBound))"
            }
        throw invalid(key, "\(message), got \(shown)")
    }

    /// YAML 1.1's booleans, case-insensitive.
    static func boolean(_ text: String) -> Bool? {
        switch text.trimmingSpaces.lowercased() {
        case "true", "yes", "on": true
        case "false", "no", "off": false
        default: nil
        }
    }
}
