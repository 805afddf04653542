extension ConfigurationDecoder {
    /// `listeners:` — at least one; names unique (also as environment names), binds not colliding.
    func decodeListeners(_ root: MappingReader, hasCluster: Bool) throws(ConfigurationError) -> [ListenerConfiguration] {
        guard let node = root.node("listeners") else {
            throw root.missing("listeners", "at least one listener is required")
        }
        guard case .sequence(let items, _) = node else {
            throw root.invalid("listeners", "expected a list of listeners, got \(node.shownValue)")
        }
        if items.isEmpty { throw root.invalid("listeners", "at least one listener is required") }
        var listeners: [ListenerConfiguration] = []
        var names: [String: (name: String, origin: ConfigOrigin)] = [:]
        for (index, item) in items.enumerated() {
            let reader = try MappingReader(item, path: "listeners[\(index)]", known: ConfigurationSchema.listener, decoder: self)
            let listener = try decodeListener(reader, hasCluster: hasCluster)
            let name = listener.name
            let environmentName = ConfigurationSchema.environmentName(listener: name)
            if let first = names[environmentName] {
                let message =
                    first.name == name
                    ? "duplicate listener name \"\(name)\"\(Self.firstAt(first.origin))"
                    : "listener names \"\(first.name)\" and \"\(name)\" are the same in environment variables (\(environmentName))"
                throw reader.invalid("name", message)
            }
            names[environmentName] = (name, reader.node("name")?.origin ?? reader.origin)
            if let other = listeners.first(where: { $0.bind.collides(with: listener.bind) }) {
                throw reader.invalid(
                    "bind", "\(listener.bind) is also the bind of listener \"\(other.name)\"")
            }
            listeners.append(listener)
        }
        return listeners
    }

    /// ` (first at line N)` for a file origin, empty otherwise.
    static func firstAt(_ origin: ConfigOrigin) -> String {
        if case .file(let line?) = origin { return " (first at line \(line))" }
        return ""
    }

    /// One entry of `listeners:`.
    private func decodeListener(_ reader: MappingReader, hasCluster: Bool) throws(ConfigurationError) -> ListenerConfiguration {
        guard let name = try reader.string("name") else { throw reader.missing("name") }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw reader.invalid("name", "use only letters, digits, -, _ and . (it names environment variables), got \"\(name)\"")
        }
        guard let bind = try reader.endpoint("bind", allowPortZero: true) else { throw reader.missing("bind") }
        let defaults = ListenerConfiguration(name: name, bind: bind)
        let role = try reader.choice("role", ListenerRole.self) ?? defaults.role
        if role != .static && !hasCluster {
            throw reader.invalid("role", "role \(role.rawValue) needs a cluster section")
        }
        let servers = try reader.endpoints("servers")
        switch (role, servers) {
        case (.static, nil):
            throw reader.missing("servers", "a static listener needs servers")
        case (.static, []?):
            throw reader.invalid("servers", "a static listener needs at least one server")
        case (.primary, _?), (.replica, _?):
            throw reader.invalid("servers", "servers are only for role static; a \(role.rawValue) listener follows the cluster")
        default:
            break
        }
        for key in ["max_lag", "fallback", "close_on_lag", "require_streaming", "sync_only", "tags"] where role != .replica && reader.node(key) != nil {
            throw reader.invalid(key, "\(key) is only for role replica, and this listener's role is \(role.rawValue)")
        }
        return ListenerConfiguration(
            name: name,
            bind: bind,
            role: role,
            servers: servers ?? defaults.servers,
            balance: try reader.choice("balance", BalanceAlgorithm.self) ?? defaults.balance,
            maxconn: try reader.int("maxconn", in: 1...Int.max) ?? defaults.maxconn,
            serverMaxconn: try reader.int("server_maxconn", in: 1...Int.max) ?? defaults.serverMaxconn,
            queueMax: try reader.int("queue_max", in: 0...Int.max) ?? defaults.queueMax,
            retries: try reader.int("retries", in: 0...1000) ?? defaults.retries,
            maxLag: try decodeLagLimit(reader) ?? defaults.maxLag,
            fallback: try reader.choice("fallback", ReplicaFallback.self) ?? defaults.fallback,
            closeOnLag: try reader.bool("close_on_lag") ?? defaults.closeOnLag,
            requireStreaming: try reader.bool("require_streaming") ?? defaults.requireStreaming,
            syncOnly: try reader.bool("sync_only") ?? defaults.syncOnly,
            tags: try decodeTags(reader) ?? defaults.tags,
            clientAddress: try reader.choice("client_address", ClientAddressForwarding.self) ?? defaults.clientAddress
        )
    }

    /// `max_lag:` — a size (`16MB`, bytes of WAL), a duration (`5s`, replay time), or both as a list
    /// or comma-separated (`[16MB, 5s]`). A size's `m` is MiB, so a duration needs `ms`, `s` or `h`.
    private func decodeLagLimit(_ reader: MappingReader) throws(ConfigurationError) -> LagLimit? {
        guard let node = reader.node("max_lag") else { return nil }
        var parts: [String] = []
        switch node {
        case .scalar(let text, _, _):
            parts = text.split(separator: ",").map { String($0).trimmingSpaces }
        case .sequence(let items, _):
            for item in items {
                guard case .scalar(let text, _, _) = item else {
                    throw reader.invalid("max_lag", "expected a size or a duration, got \(item.shownValue)")
                }
                parts.append(text.trimmingSpaces)
            }
        default:
            throw reader.invalid("max_lag", "expected a size (16MB), a duration (5s) or both ([16MB, 5s]), got \(node.shownValue)")
        }
        var limit = LagLimit()
        for part in parts {
            if part.hasPrefix("-") { throw reader.invalid("max_lag", "must not be negative, got \"\(part)\"") }
            if let bytes = SizeParser.parse(part), bytes >= 0 {
                if limit.bytes != nil { throw reader.invalid("max_lag", "two byte limits (\"\(part)\")") }
                limit.bytes = UInt64(bytes)
            } else if let time = DurationParser.parse(part) {
                if limit.time != nil { throw reader.invalid("max_lag", "two time limits (\"\(part)\")") }
                limit.time = time
            } else {
                throw reader.invalid(
                    "max_lag", "expected a size such as 16MB (bytes of WAL) or a duration such as 5s (replay time), got \"\(part)\"")
            }
        }
        if limit.bytes == nil && limit.time == nil { throw reader.invalid("max_lag", "must not be empty") }
        return limit
    }

    /// `tags:` — a mapping of Patroni tag names to the values a member must have.
    private func decodeTags(_ reader: MappingReader) throws(ConfigurationError) -> [String: String]? {
        guard let node = reader.node("tags") else { return nil }
        guard case .mapping(let entries, _) = node else {
            throw reader.invalid("tags", "expected a mapping of tag: value, such as {dc: east}, got \(node.shownValue)")
        }
        var tags: [String: String] = [:]
        for entry in entries {
            guard case .scalar(let text, _, _) = entry.value else {
                throw error(entry.value.origin, "\(reader.path("tags")).\(entry.key)", "expected a value, got \(entry.value.shownValue)")
            }
            tags[entry.key] = text
        }
        return tags
    }
}
