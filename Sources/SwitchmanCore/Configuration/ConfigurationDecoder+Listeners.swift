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
        for key in ["max_lag", "fallback"] where role != .replica && reader.node(key) != nil {
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
            maxLag: try reader.size("max_lag", in: 0...Int.max) ?? defaults.maxLag,
            fallback: try reader.choice("fallback", ReplicaFallback.self) ?? defaults.fallback
        )
    }
}
