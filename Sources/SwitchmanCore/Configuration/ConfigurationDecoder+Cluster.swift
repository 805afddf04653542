extension ConfigurationDecoder {
    /// `cluster:` — `scope` and `zookeeper.hosts` are required, the rest has defaults.
    func decodeCluster(_ reader: MappingReader) throws(ConfigurationError) -> ClusterConfiguration {
        guard let scope = try reader.string("scope") else { throw reader.missing("scope") }
        if scope.contains("/") { throw reader.invalid("scope", "must not contain /, got \"\(scope)\"") }
        guard let zookeeperReader = try reader.mapping("zookeeper", known: ConfigurationSchema.zookeeper) else {
            throw reader.missing("zookeeper")
        }
        let zookeeper = try decodeZooKeeper(zookeeperReader)
        let defaults = ClusterConfiguration(scope: scope, zookeeper: zookeeper)
        return ClusterConfiguration(
            scope: scope,
            namespace: try decodeNamespace(reader) ?? defaults.namespace,
            zookeeper: zookeeper,
            check: try reader.mapping("check", known: ConfigurationSchema.check).map(decodeCheck) ?? defaults.check,
            holdTimeout: try reader.duration("hold_timeout") ?? defaults.holdTimeout,
            holdMax: try reader.int("hold_max", in: 0...Int.max) ?? defaults.holdMax,
            onDCSLoss: try reader.choice("on_dcs_loss", DCSLossPolicy.self) ?? defaults.onDCSLoss
        )
    }

    /// `cluster.namespace`: starts with `/`; trailing slashes are dropped (`/service/` = `/service`),
    /// as Patroni joins namespace and scope with a single slash.
    private func decodeNamespace(_ reader: MappingReader) throws(ConfigurationError) -> String? {
        guard var namespace = try reader.string("namespace") else { return nil }
        guard namespace.hasPrefix("/") else {
            throw reader.invalid("namespace", "must start with /, got \"\(namespace)\"")
        }
        while namespace.count > 1 && namespace.hasSuffix("/") { namespace.removeLast() }
        if namespace.contains("//") { throw reader.invalid("namespace", "must not contain //, got \"\(namespace)\"") }
        return namespace
    }

    /// `cluster.zookeeper:`.
    private func decodeZooKeeper(_ reader: MappingReader) throws(ConfigurationError) -> ZooKeeperConfiguration {
        guard let hosts = try reader.endpoints("hosts") else { throw reader.missing("hosts") }
        if hosts.isEmpty { throw reader.invalid("hosts", "needs at least one host:port") }
        let auth = try reader.string("auth")
        if let auth, !(auth.hasPrefix("digest:") && Self.isCredential(String(auth.dropFirst("digest:".count)))) {
            throw reader.invalid("auth", "expected digest:user:password")
        }
        let defaults = ZooKeeperConfiguration(hosts: hosts)
        return ZooKeeperConfiguration(
            hosts: hosts,
            sessionTimeout: try reader.duration("session_timeout", atLeast: .nanoseconds(1)) ?? defaults.sessionTimeout,
            auth: auth ?? defaults.auth
        )
    }

    /// `cluster.check:`.
    private func decodeCheck(_ reader: MappingReader) throws(ConfigurationError) -> SQLCheckConfiguration {
        let defaults = SQLCheckConfiguration()
        let password = try reader.scalar("password", expected: "a string")
        let passfile = try reader.string("passfile")
        if password != nil && passfile != nil {
            throw reader.invalid("passfile", "give password or passfile, not both")
        }
        let positive = Duration.nanoseconds(1)
        return SQLCheckConfiguration(
            user: try reader.string("user") ?? defaults.user,
            password: password ?? defaults.password,
            passfile: passfile ?? defaults.passfile,
            database: try reader.string("database") ?? defaults.database,
            interval: try reader.duration("interval", atLeast: positive) ?? defaults.interval,
            fastInterval: try reader.duration("fast_interval", atLeast: positive) ?? defaults.fastInterval,
            timeout: try reader.duration("timeout", atLeast: positive) ?? defaults.timeout,
            rise: try reader.int("rise", in: 1...1000) ?? defaults.rise,
            fall: try reader.int("fall", in: 1...1000) ?? defaults.fall,
            minDwell: try reader.duration("min_dwell") ?? defaults.minDwell
        )
    }
}
