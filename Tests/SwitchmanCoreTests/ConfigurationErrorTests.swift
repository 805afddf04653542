import Testing

@testable import SwitchmanCore

/// Every kind of invalid configuration is refused with the file, the line and the key path.
struct ConfigurationErrorTests {
    /// A minimal valid listener section, appended where a case needs one.
    static let listener = """
        listeners:
          - { name: raw, bind: "127.0.0.1:6000", servers: ["127.0.0.1:5432"] }
        """

    /// A valid cluster section.
    static let cluster = """
        cluster:
          scope: demo
          zookeeper: { hosts: ["127.0.0.1:2181"] }
        """

    static let cases: [(yaml: String, expected: String)] = [
        // Unknown keys, with a suggestion when one is close.
        ("maxcon: 5\n\(listener)", #"proxy.conf:1: maxcon: unknown key "maxcon"; did you mean "maxconn"?"#),
        ("\(listener)\nbananas: 1", #"proxy.conf:3: bananas: unknown key "bananas""#),
        ("timeouts:\n  conect: 1s\n\(listener)", #"proxy.conf:2: timeouts.conect: unknown key "conect"; did you mean "connect"?"#),
        (
            "listeners:\n  - name: raw\n    bind: \"127.0.0.1:6000\"\n    serverz: [\"127.0.0.1:5432\"]",
            #"proxy.conf:4: listeners[0].serverz: unknown key "serverz"; did you mean "servers"?"#
        ),
        ("maxconn: 1\nmaxconn: 2\n\(listener)", "proxy.conf:2: maxconn: key given twice (first at line 1)"),
        // Wrong types and bad scalar values.
        ("threads: 0\n\(listener)", "proxy.conf:1: threads: must be from 1 to 1024, got 0"),
        ("threads: many\n\(listener)", #"proxy.conf:1: threads: expected a number of threads or auto, got "many""#),
        ("threads: [1]\n\(listener)", "proxy.conf:1: threads: expected a number of threads or auto, got a list"),
        ("maxconn: -5\n\(listener)", "proxy.conf:1: maxconn: must be at least 1, got -5"),
        ("maxconn: 1.5\n\(listener)", #"proxy.conf:1: maxconn: expected a whole number, got "1.5""#),
        ("\(listener)\ntimeouts:\n  connect: 0s", #"proxy.conf:4: timeouts.connect: must be greater than 0, got "0s""#),
        ("timeouts:\n  client_idle: -1s\n\(listener)", #"proxy.conf:2: timeouts.client_idle: must not be negative, got "-1s""#),
        (
            "timeouts:\n  queue: soon\n\(listener)",
            #"proxy.conf:2: timeouts.queue: expected a duration such as 250ms, 4s, 30m, 2h, 1d (a bare number is seconds), got "soon""#
        ),
        ("timeouts: 5\n\(listener)", #"proxy.conf:1: timeouts: expected a mapping, got "5""#),
        ("log_sessions: maybe\n\(listener)", #"proxy.conf:1: log_sessions: expected true or false, got "maybe""#),
        ("splice: fast\n\(listener)", #"proxy.conf:1: splice: expected one of auto, on, off, got "fast""#),
        ("pipe_size: 1KB\n\(listener)", #"proxy.conf:1: pipe_size: must be from 4KB to 1GB, got "1KB""#),
        (
            "buffer_size: lots\n\(listener)",
            #"proxy.conf:1: buffer_size: expected a size such as 64KB, 16MB, 1GB (1024-based) or a number of bytes, got "lots""#
        ),
        ("pipe_pool_size: -1\n\(listener)", "proxy.conf:1: pipe_pool_size: must be at least 0, got -1"),
        (
            "tcp_keepalive: sometimes\n\(listener)",
            #"proxy.conf:1: tcp_keepalive: expected a mapping {idle, interval, count}, or off, got "sometimes""#
        ),
        ("tcp_keepalive:\n  idle: 1500ms\n\(listener)", #"proxy.conf:2: tcp_keepalive.idle: must be a whole number of seconds, got "1500ms""#),
        ("tcp_keepalive:\n  count: 200\n\(listener)", "proxy.conf:2: tcp_keepalive.count: must be from 1 to 127, got 200"),
        ("resolve_ttl: -5s\n\(listener)", #"proxy.conf:1: resolve_ttl: must not be negative, got "-5s""#),
        // Listeners.
        ("threads: 2\n", "proxy.conf:1: listeners: at least one listener is required"),
        ("", "proxy.conf: listeners: at least one listener is required"),
        ("listeners: []", "proxy.conf:1: listeners: at least one listener is required"),
        ("listeners: raw", #"proxy.conf:1: listeners: expected a list of listeners, got "raw""#),
        ("listeners:\n  - raw", #"proxy.conf:2: listeners[0]: expected a mapping, got "raw""#),
        (
            """
            threads: 2
            listeners:
              - name: raw
                bind: "127.0.0.1:6000"
                servers: ["127.0.0.1:5432"]
              - name: other
                bind: "abc"
                servers: ["127.0.0.1:5432"]
            """,
            #"proxy.conf:7: listeners[1].bind: expected host:port, got "abc""#
        ),
        ("listeners:\n  - { bind: \"127.0.0.1:6000\" }", "proxy.conf:2: listeners[0].name: required key is missing"),
        ("listeners:\n  - { name: raw, servers: [\"a:1\"] }", "proxy.conf:2: listeners[0].bind: required key is missing"),
        (
            "listeners:\n  - { name: \"my raw\", bind: \"127.0.0.1:6000\" }",
            #"proxy.conf:2: listeners[0].name: use only letters, digits, -, _ and . (it names environment variables), got "my raw""#
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\" }",
            "proxy.conf:2: listeners[0].servers: a static listener needs servers"
        ),
        (
            "listeners:\n  - name: raw\n    bind: \"127.0.0.1:6000\"\n    servers: []",
            "proxy.conf:4: listeners[0].servers: a static listener needs at least one server"
        ),
        (
            "listeners:\n  - name: raw\n    bind: \"127.0.0.1:6000\"\n    servers: \"127.0.0.1:5432\"",
            #"proxy.conf:4: listeners[0].servers: expected a list of host:port, got "127.0.0.1:5432""#
        ),
        (
            "listeners:\n  - name: raw\n    bind: \"127.0.0.1:6000\"\n    servers:\n      - \"127.0.0.1:5432\"\n      - \"127.0.0.1:70000\"",
            #"proxy.conf:6: listeners[0].servers[1]: expected a port from 1 to 65535, got "127.0.0.1:70000""#
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"127.0.0.1:0\"] }",
            #"proxy.conf:2: listeners[0].servers[0]: port 0 is only allowed for a listening address, got "127.0.0.1:0""#
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"db:5432\", \"db:5432\"] }",
            "proxy.conf:2: listeners[0].servers[1]: db:5432 is listed twice"
        ),
        (
            "listeners:\n  - { name: raw, bind: \"::1:6000\", servers: [\"db:5432\"] }",
            #"proxy.conf:2: listeners[0].bind: an IPv6 address needs brackets, as in [::1]:5432, got "::1:6000""#
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"], role: leader }",
            #"proxy.conf:2: listeners[0].role: expected one of static, primary, replica, got "leader""#
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"], balance: random }",
            #"proxy.conf:2: listeners[0].balance: expected one of roundrobin, leastconn, got "random""#
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"], retries: -1 }",
            "proxy.conf:2: listeners[0].retries: must be from 0 to 1000, got -1"
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"], server_maxconn: 0 }",
            "proxy.conf:2: listeners[0].server_maxconn: must be at least 1, got 0"
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"] }\n  - { name: raw, bind: \"127.0.0.1:6001\", servers: [\"db:5432\"] }",
            #"proxy.conf:3: listeners[1].name: duplicate listener name "raw" (first at line 2)"#
        ),
        (
            "listeners:\n  - { name: read-only, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"] }\n  - { name: read_only, bind: \"127.0.0.1:6001\", servers: [\"db:5432\"] }",
            #"proxy.conf:3: listeners[1].name: listener names "read-only" and "read_only" are the same in environment variables (READ_ONLY)"#
        ),
        (
            "listeners:\n  - { name: a, bind: \"0.0.0.0:6000\", servers: [\"db:5432\"] }\n  - { name: b, bind: \"127.0.0.1:6000\", servers: [\"db:5432\"] }",
            #"proxy.conf:3: listeners[1].bind: 127.0.0.1:6000 is also the bind of listener "a""#
        ),
        (
            "listeners:\n  - name: raw\n    bind: \"127.0.0.1:6000\"\n    servers: [\"db:5432\"]\n    max_lag: 16MB",
            "proxy.conf:5: listeners[0].max_lag: max_lag is only for role replica, and this listener's role is static"
        ),
        (
            "listeners:\n  - { name: raw, bind: \"127.0.0.1:6000\", role: primary }",
            "proxy.conf:2: listeners[0].role: role primary needs a cluster section"
        ),
        (
            "\(cluster)\nlisteners:\n  - name: w\n    bind: \"127.0.0.1:6000\"\n    role: primary\n    servers: [\"db:5432\"]",
            "proxy.conf:8: listeners[0].servers: servers are only for role static; a primary listener follows the cluster"
        ),
        (
            "\(cluster)\nlisteners:\n  - name: w\n    bind: \"127.0.0.1:6000\"\n    role: primary\n    fallback: none",
            "proxy.conf:8: listeners[0].fallback: fallback is only for role replica, and this listener's role is primary"
        ),
        (
            "\(cluster)\nlisteners:\n  - name: r\n    bind: \"127.0.0.1:6000\"\n    role: replica\n    max_lag: -16MB",
            #"proxy.conf:8: listeners[0].max_lag: must not be negative, got "-16MB""#
        ),
        // Stats.
        ("\(listener)\nstats:\n  bind: \"*:6000\"", #"proxy.conf:4: stats.bind: 0.0.0.0:6000 is also the bind of listener "raw""#),
        ("\(listener)\nstats:\n  auth: admin", "proxy.conf:4: stats.auth: expected user:password"),
        ("\(listener)\nstats:\n  refresh: 10ms", #"proxy.conf:4: stats.refresh: must be at least 100ms, got "10ms""#),
        // Cluster.
        ("cluster:\n  zookeeper: { hosts: [\"z:2181\"] }\n\(listener)", "proxy.conf:2: cluster.scope: required key is missing"),
        ("cluster:\n  scope: demo\n\(listener)", "proxy.conf:2: cluster.zookeeper: required key is missing"),
        ("cluster:\n  scope: a/b\n  zookeeper: { hosts: [\"z:2181\"] }\n\(listener)", #"proxy.conf:2: cluster.scope: must not contain /, got "a/b""#),
        (
            "cluster:\n  scope: demo\n  namespace: service\n  zookeeper: { hosts: [\"z:2181\"] }\n\(listener)",
            #"proxy.conf:3: cluster.namespace: must start with /, got "service""#
        ),
        (
            "cluster:\n  scope: demo\n  zookeeper:\n    hosts: []\n\(listener)",
            "proxy.conf:4: cluster.zookeeper.hosts: needs at least one host:port"
        ),
        (
            "cluster:\n  scope: demo\n  zookeeper:\n    session_timeout: 10s\n\(listener)",
            "proxy.conf:4: cluster.zookeeper.hosts: required key is missing"
        ),
        (
            "cluster:\n  scope: demo\n  zookeeper:\n    hosts: [\"z:2181\"]\n    auth: user:password\n\(listener)",
            "proxy.conf:5: cluster.zookeeper.auth: expected digest:user:password"
        ),
        (
            "cluster:\n  scope: demo\n  zookeeper: { hosts: [\"z:2181\"] }\n  check:\n    password: x\n    passfile: /p\n\(listener)",
            "proxy.conf:6: cluster.check.passfile: give password or passfile, not both"
        ),
        (
            "cluster:\n  scope: demo\n  zookeeper: { hosts: [\"z:2181\"] }\n  hold_max: -1\n\(listener)",
            "proxy.conf:4: cluster.hold_max: must be at least 0, got -1"
        ),
        // YAML syntax.
        ("listeners: [\n", "proxy.conf:2: invalid YAML: did not find expected node content (while parsing a flow node at line 2)"),
        ("a: b: c\n", "proxy.conf:1: invalid YAML: mapping values are not allowed in this context"),
        ("- 1\n- 2\n", "proxy.conf:1: expected a mapping, got a list"),
        ("maxconn: 1\n---\nmaxconn: 2\n", "proxy.conf:2: invalid YAML: but found another document (expected a single document in the stream at line 1)"),
        ("listeners:\n\t- a\n", "proxy.conf:2: invalid YAML: found character that cannot start any token (while scanning for the next token at line 2)"),
        ("? [a]\n: 1\n", "proxy.conf:1: a key must be a plain word, not a list"),
    ]

    @Test("an invalid configuration is refused naming file, line and key", arguments: cases)
    func invalidConfigurationIsRefusedWithItsLine(yaml: String, expected: String) {
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        }
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("the error description leaves out a missing line and an empty key")
    func descriptionFormat() {
        #expect(ConfigurationError(file: "a.conf", line: 3, key: "k", message: "m").description == "a.conf:3: k: m")
        #expect(ConfigurationError(file: "a.conf", line: nil, key: "", message: "no such file").description == "a.conf: no such file")
        #expect(ConfigurationError(file: "environment", line: nil, key: "SWITCHMAN_X", message: "m").description == "environment: SWITCHMAN_X: m")
    }

    @Test("a missing file or a directory is an error naming the path")
    func unreadableFileIsAnError() {
        let missing = "/nonexistent-switchman-dir/proxy.conf"
        #expect(throws: ConfigurationError(file: missing, line: nil, key: "", message: "no such file")) {
            try ConfigurationLoader.load(path: missing, environment: [:])
        }
        #expect(throws: ConfigurationError(file: "/", line: nil, key: "", message: "is a directory, not a configuration file")) {
            try ConfigurationLoader.load(path: "/", environment: [:])
        }
    }
}
