import Testing

@testable import SwitchmanCore

/// `SWITCHMAN_*` variables override the file, and are checked like it.
struct EnvironmentOverrideTests {
    /// A file with one static listener, keepalive off and a stats password.
    static let staticFile = """
        tcp_keepalive: off
        listeners:
          - name: raw
            bind: "127.0.0.1:6000"
            servers: ["127.0.0.1:5432"]
          - name: read-only
            bind: "127.0.0.1:6001"
            servers: ["127.0.0.1:5433"]
        stats:
          auth: "admin:secret"
        """

    /// A file with a cluster section that lacks its scope.
    static let clusterFile = """
        cluster:
          zookeeper:
            hosts: ["zoo:2181"]
        listeners:
          - { name: primary, bind: "0.0.0.0:5432", role: primary }
          - { name: replicas, bind: "0.0.0.0:5433", role: replica }
        """

    static let overrides: [(name: String, file: String, environment: [String: String], check: @Sendable (ProxyConfiguration) -> Bool)] = [
        ("threads by number", staticFile, ["SWITCHMAN_THREADS": "4"], { $0.threads == 4 }),
        ("threads auto", "threads: 2\n" + staticFile, ["SWITCHMAN_THREADS": "auto"], { $0.threads == nil }),
        ("a key the file lacks", staticFile, ["SWITCHMAN_TIMEOUTS_CONNECT": "2s"], {
            $0.timeouts.connect == .seconds(2) && $0.timeouts.queue == Timeouts().queue
        }),
        ("a bare number is seconds", staticFile, ["SWITCHMAN_TIMEOUTS_CLIENT_IDLE": "90"], { $0.timeouts.clientIdle == .seconds(90) }),
        ("a boolean", staticFile, ["SWITCHMAN_LOG_SESSIONS": "false"], { !$0.logSessions }),
        ("a size", staticFile, ["SWITCHMAN_PIPE_SIZE": "64KB"], { $0.pipeSize == 64 << 10 }),
        ("keepalive sub-key turns a file's off into a mapping", staticFile, ["SWITCHMAN_TCP_KEEPALIVE_IDLE": "30s"], {
            $0.tcpKeepalive == TCPKeepalive(idle: .seconds(30))
        }),
        ("keepalive on restores the defaults", staticFile, ["SWITCHMAN_TCP_KEEPALIVE": "on"], { $0.tcpKeepalive == TCPKeepalive() }),
        ("keepalive off", "listeners: [{ name: a, bind: \"1.2.3.4:1\", servers: [\"b:2\"] }]", ["SWITCHMAN_TCP_KEEPALIVE": "off"], {
            $0.tcpKeepalive == nil
        }),
        ("keepalive on keeps the file's mapping", "tcp_keepalive: { count: 3 }\n" + staticFile.replacingFirstLine(), ["SWITCHMAN_TCP_KEEPALIVE": "on"], {
            $0.tcpKeepalive == TCPKeepalive(count: 3)
        }),
        ("an empty variable restores the default", staticFile, ["SWITCHMAN_STATS_AUTH": ""], { $0.stats.auth == nil }),
        ("a listener's bind by its name", staticFile, ["SWITCHMAN_LISTENER_RAW_BIND": "127.0.0.1:7001"], {
            $0.listeners[0].bind == Endpoint(host: "127.0.0.1", port: 7001) && $0.listeners[1].bind.port == 6001
        }),
        ("a listener name with a dash", staticFile, ["SWITCHMAN_LISTENER_READ_ONLY_RETRIES": "5"], {
            $0.listeners[1].retries == 5 && $0.listeners[0].retries == 2
        }),
        ("a listener's servers, comma-separated", staticFile, ["SWITCHMAN_LISTENER_RAW_SERVERS": "db1:5432, db2:5432"], {
            $0.listeners[0].servers == [Endpoint(host: "db1", port: 5432), Endpoint(host: "db2", port: 5432)]
        }),
        ("cluster scope via env when the file has a cluster section", clusterFile, ["SWITCHMAN_CLUSTER_SCOPE": "demo"], {
            $0.cluster?.scope == "demo" && $0.cluster?.zookeeper.hosts == [Endpoint(host: "zoo", port: 2181)]
        }),
        (
            "zookeeper hosts, comma-separated", clusterFile,
            ["SWITCHMAN_CLUSTER_SCOPE": "demo", "SWITCHMAN_CLUSTER_ZOOKEEPER_HOSTS": "zoo1:2181,zoo2:2181"],
            { $0.cluster?.zookeeper.hosts == [Endpoint(host: "zoo1", port: 2181), Endpoint(host: "zoo2", port: 2181)] }
        ),
        (
            "a whole cluster section from the environment", staticFile,
            ["SWITCHMAN_CLUSTER_SCOPE": "demo", "SWITCHMAN_CLUSTER_ZOOKEEPER_HOSTS": "zoo:2181", "SWITCHMAN_CLUSTER_CHECK_PASSWORD": "pw"],
            { $0.cluster == ClusterConfiguration(scope: "demo", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "zoo", port: 2181)]), check: SQLCheckConfiguration(password: "pw")) }
        ),
        ("a replica listener's max_lag", clusterFile, ["SWITCHMAN_CLUSTER_SCOPE": "d", "SWITCHMAN_LISTENER_REPLICAS_MAX_LAG": "16MB"], {
            $0.listeners[1].maxLag == LagLimit(bytes: 16 << 20)
        }),
        (
            "reserved and unrelated variables are ignored", staticFile,
            ["SWITCHMAN_CONFIG": "/x", "SWITCHMAN_LOG_LEVEL": "debug", "SWITCHMAN_LOG_FORMAT": "json", "SWITCHMAN_TEST_PORT": "1", "PATH": "/bin", "switchman_threads": "x"],
            { $0 == (try? ConfigurationLoader.parse(yaml: staticFile, file: "f", environment: [:])) }
        ),
    ]

    @Test("an override applies to the key its name maps to", arguments: overrides)
    func overrideApplies(name: String, file: String, environment: [String: String], check: @Sendable (ProxyConfiguration) -> Bool) throws {
        let configuration = try ConfigurationLoader.parse(yaml: file, file: "proxy.conf", environment: environment)
        #expect(check(configuration), "\(name)")
    }

    static let errors: [(file: String, environment: [String: String], expected: String)] = [
        (staticFile, ["SWITCHMAN_THREADS": "lots"], #"environment: SWITCHMAN_THREADS: expected a number of threads or auto, got "lots""#),
        (staticFile, ["SWITCHMAN_MAXCONN": "0"], "environment: SWITCHMAN_MAXCONN: must be at least 1, got 0"),
        (staticFile, ["SWITCHMAN_TIMEOUTS_CONNECT": "-1s"], #"environment: SWITCHMAN_TIMEOUTS_CONNECT: must not be negative, got "-1s""#),
        (staticFile, ["SWITCHMAN_SPLICE": "maybe"], #"environment: SWITCHMAN_SPLICE: expected one of auto, on, off, got "maybe""#),
        (staticFile, ["SWITCHMAN_TIMEOUTS_CONECT": "1s"], "environment: SWITCHMAN_TIMEOUTS_CONECT: unknown variable; did you mean SWITCHMAN_TIMEOUTS_CONNECT?"),
        (staticFile, ["SWITCHMAN_FOO": "1"], "environment: SWITCHMAN_FOO: unknown variable"),
        (staticFile, ["SWITCHMAN_TIMEOUTS": "5s"], "environment: SWITCHMAN_TIMEOUTS: unknown variable"),
        (
            staticFile, ["SWITCHMAN_LISTENER_NOPE_BIND": "1.2.3.4:5"],
            "environment: SWITCHMAN_LISTENER_NOPE_BIND: no listener of the file matches: expected SWITCHMAN_LISTENER_<NAME>_<KEY> with NAME one of RAW, READ_ONLY"
        ),
        (
            staticFile, ["SWITCHMAN_LISTENER_RAW_BINDD": "1.2.3.4:5"],
            "environment: SWITCHMAN_LISTENER_RAW_BINDD: no listener of the file matches: expected SWITCHMAN_LISTENER_<NAME>_<KEY> with NAME one of RAW, READ_ONLY; did you mean SWITCHMAN_LISTENER_RAW_BIND?"
        ),
        (
            staticFile, ["SWITCHMAN_LISTENER_RAW_NAME": "other"],
            "environment: SWITCHMAN_LISTENER_RAW_NAME: no listener of the file matches: expected SWITCHMAN_LISTENER_<NAME>_<KEY> with NAME one of RAW, READ_ONLY; did you mean SWITCHMAN_LISTENER_RAW_ROLE?"
        ),
        (staticFile, ["SWITCHMAN_LISTENER_RAW_BIND": "abc"], #"environment: SWITCHMAN_LISTENER_RAW_BIND: expected host:port, got "abc""#),
        (staticFile, ["SWITCHMAN_LISTENER_RAW_SERVERS": "db:1,bad"], #"environment: SWITCHMAN_LISTENER_RAW_SERVERS: expected host:port, got "bad""#),
        (staticFile, ["SWITCHMAN_LISTENER_RAW_SERVERS": ""], "environment: SWITCHMAN_LISTENER_RAW_SERVERS: a static listener needs at least one server"),
        (
            staticFile, ["SWITCHMAN_LISTENER_RAW_BIND": "127.0.0.1:6001"],
            #"proxy.conf:7: listeners[1].bind: 127.0.0.1:6001 is also the bind of listener "raw""#
        ),
        (
            staticFile, ["SWITCHMAN_LISTENER_RAW_MAX_LAG": "16MB"],
            "environment: SWITCHMAN_LISTENER_RAW_MAX_LAG: max_lag is only for role replica, and this listener's role is static"
        ),
        (staticFile, ["SWITCHMAN_LISTENER_RAW_ROLE": "primary"], "environment: SWITCHMAN_LISTENER_RAW_ROLE: role primary needs a cluster section"),
        (
            staticFile, ["SWITCHMAN_CLUSTER_SCOPE": "demo"],
            "environment: SWITCHMAN_CLUSTER_SCOPE: cluster.zookeeper is required but neither the file nor the environment sets it"
        ),
        (clusterFile, [:], "proxy.conf:2: cluster.scope: required key is missing"),
        (
            clusterFile, ["SWITCHMAN_CLUSTER_SCOPE": "d", "SWITCHMAN_CLUSTER_ZOOKEEPER_HOSTS": ""],
            "environment: SWITCHMAN_CLUSTER_ZOOKEEPER_HOSTS: needs at least one host:port"
        ),
        (
            clusterFile, ["SWITCHMAN_CLUSTER_SCOPE": "d", "SWITCHMAN_CLUSTER_NAMESPACE": "service"],
            #"environment: SWITCHMAN_CLUSTER_NAMESPACE: must start with /, got "service""#
        ),
        (
            staticFile, ["SWITCHMAN_TCP_KEEPALIVE": "off", "SWITCHMAN_TCP_KEEPALIVE_IDLE": "30s"],
            "environment: SWITCHMAN_TCP_KEEPALIVE_IDLE: conflicts with SWITCHMAN_TCP_KEEPALIVE"
        ),
        (
            "listeners:\n  - { name: a, bind: \"1.1.1.1:1\", servers: [\"b:1\"] }\n  - { name: a_server, bind: \"1.1.1.1:2\", servers: [\"b:1\"] }",
            ["SWITCHMAN_LISTENER_A_SERVER_MAXCONN": "5"],
            #"environment: SWITCHMAN_LISTENER_A_SERVER_MAXCONN: ambiguous: key server_maxconn of listener "a" or key maxconn of listener "a_server"; rename a listener"#
        ),
    ]

    @Test("a bad override is refused naming the variable", arguments: errors)
    func badOverrideIsRefused(file: String, environment: [String: String], expected: String) {
        do {
            let configuration = try ConfigurationLoader.parse(yaml: file, file: "proxy.conf", environment: environment)
            Issue.record("expected \(expected), parsed \(configuration)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("SWITCHMAN_CONFIG names the file unless it is empty")
    func configPath() {
        #expect(ConfigurationLoader.configPath(environment: ["SWITCHMAN_CONFIG": "/etc/s.conf"], default: "proxy.conf") == "/etc/s.conf")
        #expect(ConfigurationLoader.configPath(environment: ["SWITCHMAN_CONFIG": ""], default: "proxy.conf") == "proxy.conf")
        #expect(ConfigurationLoader.configPath(environment: [:], default: "proxy.conf") == "proxy.conf")
    }

    @Test("every listed variable is accepted by the parser")
    func everyListedVariableIsKnown() throws {
        let variables = ConfigurationLoader.environmentVariables(listenerNames: ["raw", "read-only"])
        #expect(variables.contains("SWITCHMAN_CLUSTER_ZOOKEEPER_SESSION_TIMEOUT"))
        #expect(variables.contains("SWITCHMAN_LISTENER_READ_ONLY_SERVER_MAXCONN"))
        #expect(Set(variables).count == variables.count)
        for variable in variables {
            // Any error is fine except "this variable does not exist".
            do {
                _ = try ConfigurationLoader.parse(yaml: Self.staticFile, file: "proxy.conf", environment: [variable: "x"])
            } catch {
                #expect(!error.message.contains("unknown variable") && !error.message.contains("no listener"), "\(error)")
            }
        }
    }
}

extension String {
    /// The string without its first line.
    func replacingFirstLine() -> String {
        split(separator: "\n", maxSplits: 1).last.map(String.init) ?? ""
    }
}
