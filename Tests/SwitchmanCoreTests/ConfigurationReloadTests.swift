import SwitchmanCore
import Testing

/// What a reload applies: the whole reloaded configuration, except the keys that need a restart.
struct ConfigurationReloadTests {
    /// Every field different from `running`'s: what a reload that changes everything looks like.
    static let running = ProxyConfiguration(
        threads: 2, listeners: [ListenerConfiguration(name: "a", bind: Endpoint(host: "127.0.0.1", port: 5000))],
        stats: StatsConfiguration(bind: Endpoint(host: "127.0.0.1", port: 7000)),
        cluster: ClusterConfiguration(scope: "one", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2181)])))
    static let reloaded = ProxyConfiguration(
        threads: 4, maxconn: 77, timeouts: Timeouts(connect: .seconds(1), clientIdle: .seconds(2), serverIdle: .seconds(3), shutdown: .seconds(4), queue: .seconds(5)),
        logSessions: false, splice: .off, pipeSize: 1 << 16, pipePoolSize: 3, bufferSize: 1 << 12,
        tcpKeepalive: nil, resolveTTL: .seconds(7),
        listeners: [ListenerConfiguration(name: "b", bind: Endpoint(host: "127.0.0.1", port: 5001), maxconn: 9)],
        stats: StatsConfiguration(bind: Endpoint(host: "127.0.0.1", port: 7001)),
        cluster: ClusterConfiguration(scope: "two", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2182)])))

    /// Field name → its value's description, for every stored field (a new field shows up here by itself).
    static func fields(_ configuration: ProxyConfiguration) -> [String: String] {
        Dictionary(uniqueKeysWithValues: Mirror(reflecting: configuration).children.map { ($0.label!, String(describing: $0.value)) })
    }

    @Test func theFixtureChangesEveryFieldSoEveryFieldIsChecked() {
        let before = Self.fields(Self.running)
        let after = Self.fields(Self.reloaded)
        // A field added to ProxyConfiguration fails here until `reloaded` sets it: then the test
        // below checks that a reload carries it.
        for (key, value) in after { #expect(before[key] != value, "the fixture leaves \(key) unchanged") }
        #expect(Set(before.keys).isSuperset(of: ProxyConfiguration.restartOnlyKeys))
    }

    @Test func aReloadAppliesEveryFieldButThoseNeedingARestart() {
        let effective = Self.fields(Self.reloaded.applied(over: Self.running))
        let before = Self.fields(Self.running)
        let after = Self.fields(Self.reloaded)
        for (key, value) in effective {
            let expected = ProxyConfiguration.restartOnlyKeys.contains(key) ? before[key] : after[key]
            #expect(value == expected, "\(key) after the reload")
        }
        #expect(effective.count == after.count)
    }
}
