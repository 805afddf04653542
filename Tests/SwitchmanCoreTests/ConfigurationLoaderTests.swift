import Foundation
import Testing

@testable import SwitchmanCore

/// Valid configurations parse into exactly the values written, defaults filling the rest.
struct ConfigurationLoaderTests {
    @Test("the issue's static example parses with defaults for the rest")
    func issueStaticExample() throws {
        let yaml = """
            threads: 2
            maxconn: 10000
            timeouts: { connect: 4s, client_idle: 30m, server_idle: 30m, shutdown: 30s }
            listeners:
              - { name: raw, bind: "127.0.0.1:6000", role: static, servers: ["127.0.0.1:5432"], balance: roundrobin }
            stats: { bind: "0.0.0.0:7000" }
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        let expected = ProxyConfiguration(
            threads: 2,
            listeners: [
                ListenerConfiguration(
                    name: "raw", bind: Endpoint(host: "127.0.0.1", port: 6000), servers: [Endpoint(host: "127.0.0.1", port: 5432)])
            ]
        )
        #expect(configuration == expected)
    }

    @Test("the issue's cluster example parses into the cluster section and role listeners")
    func issueClusterExample() throws {
        let yaml = """
            cluster:
              scope: my_cluster
              namespace: /service
              zookeeper: { hosts: ["zoo:2181"], session_timeout: 10s, auth: "digest:user:password" }
              check: { user: postgres, password: postgres }
              hold_timeout: 30s
              hold_max: 1000
            listeners:
              - { name: primary,  bind: "0.0.0.0:5432", role: primary }
              - { name: replicas, bind: "0.0.0.0:5433", role: replica, max_lag: 16MB, fallback: primary, balance: roundrobin }
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        #expect(
            configuration.cluster
                == ClusterConfiguration(
                    scope: "my_cluster",
                    zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "zoo", port: 2181)], auth: "digest:user:password"),
                    check: SQLCheckConfiguration(password: "postgres")
                ))
        #expect(
            configuration.listeners == [
                ListenerConfiguration(name: "primary", bind: Endpoint(host: "0.0.0.0", port: 5432), role: .primary),
                ListenerConfiguration(
                    name: "replicas", bind: Endpoint(host: "0.0.0.0", port: 5433), role: .replica, maxLag: LagLimit(bytes: 16 << 20), fallback: .primary),
            ])
    }

    @Test("every key set to a non-default value is read into its field")
    func everyKeyIsRead() throws {
        let yaml = """
            threads: 3
            maxconn: 500
            timeouts:
              connect: 250ms
              client_idle: 1h
              server_idle: 2h
              shutdown: 0
              queue: 1s
              startup_answer: 1500ms
            log_sessions: off
            splice: "on"
            pipe_size: 64KiB
            pipe_pool_size: 0
            buffer_size: 32k
            tcp_keepalive: { idle: 2m, interval: 5, count: 3 }
            resolve_ttl: 0s
            listeners:
              - name: raw
                bind: "[::1]:0"
                role: static
                servers: ["db1:5432", "[::1]:5433"]
                balance: leastconn
                maxconn: 100
                server_maxconn: 10
                queue_max: 0
                retries: 0
            stats:
              bind: "*:0"
              refresh: 500ms
              auth: "admin:a:b"
            cluster:
              scope: c1
              namespace: /patroni/
              zookeeper:
                hosts: ["z1:2181", "z2:2181"]
                session_timeout: 20s
              check:
                user: switchman
                passfile: /etc/switchman/pgpass
                database: template1
                interval: 100ms
                timeout: 1s
              hold_timeout: 0s
              hold_max: 0
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        let expected = ProxyConfiguration(
            threads: 3,
            maxconn: 500,
            timeouts: Timeouts(connect: .milliseconds(250), clientIdle: .seconds(3_600), serverIdle: .seconds(7_200), shutdown: .zero, queue: .seconds(1),
                               startupAnswer: .milliseconds(1500)),
            logSessions: false,
            splice: .on,
            pipeSize: 64 << 10,
            pipePoolSize: 0,
            bufferSize: 32 << 10,
            tcpKeepalive: TCPKeepalive(idle: .seconds(120), interval: .seconds(5), count: 3),
            resolveTTL: .zero,
            listeners: [
                ListenerConfiguration(
                    name: "raw", bind: Endpoint(host: "::1", port: 0), role: .static,
                    servers: [Endpoint(host: "db1", port: 5432), Endpoint(host: "::1", port: 5433)],
                    balance: .leastconn, maxconn: 100, serverMaxconn: 10, queueMax: 0, retries: 0)
            ],
            stats: StatsConfiguration(bind: Endpoint(host: "0.0.0.0", port: 0), refresh: .milliseconds(500), auth: "admin:a:b"),
            cluster: ClusterConfiguration(
                scope: "c1", namespace: "/patroni",
                zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "z1", port: 2181), Endpoint(host: "z2", port: 2181)], sessionTimeout: .seconds(20)),
                check: SQLCheckConfiguration(
                    user: "switchman", passfile: "/etc/switchman/pgpass", database: "template1", interval: .milliseconds(100), timeout: .seconds(1)),
                holdTimeout: .zero, holdMax: 0)
        )
        #expect(configuration == expected)
    }

    static let forms: [(name: String, yaml: String, check: @Sendable (ProxyConfiguration) -> Bool)] = [
        ("threads auto is nil", "threads: auto", { $0.threads == nil }),
        ("a key with no value takes its default", "maxconn:\ntimeouts:\nstats: ~", { $0.maxconn == 10_000 && $0.timeouts == Timeouts() }),
        ("tcp_keepalive false turns it off", "tcp_keepalive: false", { $0.tcpKeepalive == nil }),
        ("tcp_keepalive on keeps the defaults", "tcp_keepalive: on", { $0.tcpKeepalive == TCPKeepalive() }),
        ("a quoted number is a number", "maxconn: \"42\"", { $0.maxconn == 42 }),
        ("yes is true", "log_sessions: yes", { $0.logSessions }),
        ("splice off unquoted is the mode off", "splice: off", { $0.splice == .off }),
        ("a bare duration is seconds", "resolve_ttl: 90", { $0.resolveTTL == .seconds(90) }),
        ("namespace / stays /", "cluster: { scope: s, namespace: /, zookeeper: { hosts: [\"z:1\"] } }", { $0.cluster?.namespace == "/" }),
    ]

    @Test("YAML forms an operator may write are read as meant", arguments: forms)
    func yamlForms(name: String, yaml: String, check: @Sendable (ProxyConfiguration) -> Bool) throws {
        let file = yaml + "\nlisteners: [{ name: a, bind: \"127.0.0.1:1\", servers: [\"b:2\"] }]"
        let configuration = try ConfigurationLoader.parse(yaml: file, file: "proxy.conf", environment: [:])
        #expect(check(configuration), "\(name)")
    }

    @Test("an alias repeats an anchored value")
    func aliases() throws {
        let yaml = """
            listeners:
              - { name: a, bind: "127.0.0.1:1", servers: &servers ["db1:5432", "db2:5432"] }
              - { name: b, bind: "127.0.0.1:2", servers: *servers, balance: leastconn }
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        #expect(configuration.listeners[1].servers == configuration.listeners[0].servers)
        #expect(configuration.listeners[1].servers.count == 2)
    }

    @Test("load reads a file and names it in errors")
    func loadReadsAFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("proxy.conf").path
        try "listeners:\n  - { name: a, bind: \"127.0.0.1:1\", servers: [\"b:2\"] }\n".write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: path, environment: ["SWITCHMAN_MAXCONN": "7"])
        #expect(configuration.maxconn == 7)
        try "maxconn: 1\nmaxconn: x\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError(file: path, line: 2, key: "maxconn", message: "key given twice (first at line 1)")) {
            try ConfigurationLoader.load(path: path, environment: [:])
        }
    }

    // MARK: Reload

    static let base = ProxyConfiguration(
        threads: 2,
        listeners: [ListenerConfiguration(name: "a", bind: Endpoint(host: "127.0.0.1", port: 1), servers: [Endpoint(host: "b", port: 2)])],
        cluster: ClusterConfiguration(scope: "s", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "z", port: 2181)]))
    )

    static func with(
        threads: Int?? = nil, maxconn: Int? = nil, cluster: ClusterConfiguration?? = nil
    ) -> ProxyConfiguration {
        ProxyConfiguration(
            threads: threads ?? base.threads, maxconn: maxconn ?? base.maxconn, listeners: base.listeners, cluster: cluster ?? base.cluster)
    }

    static let zoo = ZooKeeperConfiguration(hosts: [Endpoint(host: "z", port: 2181)])

    static let reloads: [(name: String, new: ProxyConfiguration, expected: [String])] = [
        ("nothing changed", base, []),
        ("limits apply live", with(maxconn: 5), []),
        ("threads", with(threads: .some(4)), ["threads: 2 → 4"]),
        ("threads to auto", with(threads: .some(nil)), ["threads: 2 → auto"]),
        ("cluster removed", with(cluster: .some(nil)), ["cluster: removed"]),
        (
            "cluster fields", with(cluster: ClusterConfiguration(scope: "t", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "y", port: 2181)]), holdMax: 5)),
            ["cluster.scope: s → t", "cluster.zookeeper.hosts: z:2181 → y:2181", "cluster.hold_max: 1000 → 5"]
        ),
        (
            "secrets are not shown", with(cluster: ClusterConfiguration(scope: "s", zookeeper: zoo, check: SQLCheckConfiguration(password: "hunter2"))),
            ["cluster.check.password: changed"]
        ),
    ]

    @Test("changesNeedingRestart names threads and cluster changes only", arguments: reloads)
    func changesNeedingRestart(name: String, new: ProxyConfiguration, expected: [String]) {
        #expect(new.changesNeedingRestart(from: Self.base) == expected, "\(name)")
    }

    @Test("a cluster section added by a reload needs a restart")
    func clusterAdded() {
        let old = Self.with(cluster: .some(nil))
        #expect(Self.base.changesNeedingRestart(from: old) == ["cluster: added"])
    }
}
