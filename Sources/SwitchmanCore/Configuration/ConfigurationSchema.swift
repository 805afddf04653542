/// The keys `proxy.conf` knows, mapping by mapping: the single list the parser, the environment
/// overrides and the tests read, so a key added here is known to all three.
enum ConfigurationSchema {
    /// Keys of the top-level mapping.
    static let root = [
        "threads", "maxconn", "timeouts", "log_sessions", "splice", "pipe_size", "pipe_pool_size",
        "buffer_size", "tcp_keepalive", "resolve_ttl", "listeners", "stats", "cluster",
    ]
    /// Keys of `timeouts:`.
    static let timeouts = ["connect", "client_idle", "server_idle", "shutdown", "queue", "startup_answer"]
    /// Keys of `tcp_keepalive:` when it is a mapping.
    static let tcpKeepalive = ["idle", "interval", "count"]
    /// Keys of one entry of `listeners:`.
    static let listener = [
        "name", "bind", "role", "servers", "balance", "maxconn", "server_maxconn", "queue_max", "retries",
        "max_lag", "fallback", "close_on_lag", "require_streaming", "sync_only", "tags", "client_address",
    ]
    /// Keys of `stats:`.
    static let stats = ["bind", "refresh", "auth", "admin"]
    /// Keys of `stats.admin:`.
    static let statsAdmin = ["user", "password", "password_file"]
    /// Keys of `cluster:`.
    static let cluster = ["scope", "namespace", "zookeeper", "check", "hold_timeout", "hold_max", "on_dcs_loss"]
    /// Keys of `cluster.zookeeper:`.
    static let zookeeper = ["hosts", "session_timeout", "auth"]
    /// Keys of `cluster.check:`.
    static let check = [
        "user", "password", "passfile", "database", "interval", "fast_interval", "timeout", "rise", "fall", "min_dwell",
    ]

    /// Every key path an environment variable may set outside `listeners`, in document order.
    /// `tcp_keepalive` is both a scalar (`off`) and a mapping, so it appears with its sub-keys.
    static let overridablePaths: [[String]] = {
        var paths: [[String]] = [["threads"], ["maxconn"]]
        paths += timeouts.map { ["timeouts", $0] }
        paths += [["log_sessions"], ["splice"], ["pipe_size"], ["pipe_pool_size"], ["buffer_size"], ["tcp_keepalive"]]
        paths += tcpKeepalive.map { ["tcp_keepalive", $0] }
        paths += [["resolve_ttl"]]
        paths += stats.filter { $0 != "admin" }.map { ["stats", $0] }
        paths += statsAdmin.map { ["stats", "admin", $0] }
        paths += [["cluster", "scope"], ["cluster", "namespace"]]
        paths += zookeeper.map { ["cluster", "zookeeper", $0] }
        paths += check.map { ["cluster", "check", $0] }
        paths += [["cluster", "hold_timeout"], ["cluster", "hold_max"], ["cluster", "on_dcs_loss"]]
        return paths
    }()

    /// Listener keys an environment variable may set (`name` is how the listener is found).
    static let overridableListenerKeys = listener.filter { $0 != "name" && $0 != "tags" }

    /// Key paths whose value is a list; their environment value is comma-separated.
    static let listPaths: Set<[String]> = [["cluster", "zookeeper", "hosts"], ["servers"]]

    /// Prefix of every environment variable Switchman reads.
    static let environmentPrefix = "SWITCHMAN_"

    /// `SWITCHMAN_` + the path upper-cased and joined by `_`.
    static func environmentName(_ path: [String]) -> String {
        environmentPrefix + path.map { $0.uppercased() }.joined(separator: "_")
    }

    /// A listener name as it appears in environment variables: upper-cased, `-` and `.` as `_`.
    static func environmentName(listener name: String) -> String {
        String(name.uppercased().map { $0 == "-" || $0 == "." ? "_" : $0 })
    }

    /// `SWITCHMAN_LISTENER_<NAME>_<KEY>`.
    static func environmentName(listener name: String, key: String) -> String {
        environmentPrefix + "LISTENER_" + environmentName(listener: name) + "_" + key.uppercased()
    }
}
