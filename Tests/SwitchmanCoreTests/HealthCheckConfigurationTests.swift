import Testing
@testable import SwitchmanCore

/// The keys of the health checks: `max_lag` in bytes, time or both, the read-pool filters, the
/// check counting and the ZooKeeper-loss policy.
struct HealthCheckConfigurationTests {
    private func replicaListener(_ line: String) throws -> ListenerConfiguration {
        let yaml = """
            cluster:
              scope: demo
              zookeeper: { hosts: ["127.0.0.1:2181"] }
            listeners:
              - name: r
                bind: "127.0.0.1:6000"
                role: replica
                \(line)
            """
        return try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:]).listeners[0]
    }

    @Test(arguments: [
        ("max_lag: 16MB", LagLimit(bytes: 16 << 20)),
        ("max_lag: 5s", LagLimit(time: .seconds(5))),
        ("max_lag: 500ms", LagLimit(time: .milliseconds(500))),
        ("max_lag: [16MB, 5s]", LagLimit(bytes: 16 << 20, time: .seconds(5))),
        ("max_lag: 5s, 1GB", LagLimit(bytes: 1 << 30, time: .seconds(5))),
        ("max_lag: 2m", LagLimit(bytes: 2 << 20)),
        ("max_lag: 4096", LagLimit(bytes: 4096)),
    ])
    func maxLagTakesBytesTimeOrBoth(line: String, expected: LagLimit) throws {
        #expect(try replicaListener(line).maxLag == expected)
    }

    @Test(arguments: [
        ("max_lag: soon", #"proxy.conf:8: listeners[0].max_lag: expected a size such as 16MB (bytes of WAL) or a duration such as 5s (replay time), got "soon""#),
        ("max_lag: [1MB, 2MB]", #"proxy.conf:8: listeners[0].max_lag: two byte limits ("2MB")"#),
        ("max_lag: {a: 1}", #"proxy.conf:8: listeners[0].max_lag: expected a size (16MB), a duration (5s) or both ([16MB, 5s]), got a mapping"#),
        ("tags: east", #"proxy.conf:8: listeners[0].tags: expected a mapping of tag: value, such as {dc: east}, got "east""#),
        ("sync_only: maybe", #"proxy.conf:8: listeners[0].sync_only: expected true or false, got "maybe""#),
    ])
    func aBadReadPoolKeyNamesItsLine(line: String, expected: String) {
        do {
            _ = try replicaListener(line)
            Issue.record("accepted \(line)")
        } catch {
            #expect("\(error)" == expected)
        }
    }

    @Test func theReadPoolFiltersAreRead() throws {
        let yaml = """
            cluster:
              scope: demo
              zookeeper: { hosts: ["127.0.0.1:2181"] }
              on_dcs_loss: fail_closed
              check: { interval: 250ms, fast_interval: 20ms, rise: 4, fall: 5, min_dwell: 30s }
            listeners:
              - name: r
                bind: "127.0.0.1:6000"
                role: replica
                close_on_lag: true
                require_streaming: yes
                sync_only: true
                tags: {dc: east, nosync: false}
            """
        let parsed = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
        let listener = parsed.listeners[0]
        #expect(listener.closeOnLag && listener.requireStreaming && listener.syncOnly)
        #expect(listener.tags == ["dc": "east", "nosync": "false"])
        let cluster = try #require(parsed.cluster)
        #expect(cluster.onDCSLoss == .failClosed)
        #expect(cluster.check.interval == .milliseconds(250) && cluster.check.fastInterval == .milliseconds(20))
        #expect(cluster.check.counting == CheckCounting(rise: 4, fall: 5, minDwell: .seconds(30)))
    }

    @Test func readPoolKeysBelongToReplicaListenersOnly() {
        let yaml = """
            cluster:
              scope: demo
              zookeeper: { hosts: ["127.0.0.1:2181"] }
            listeners:
              - { name: w, bind: "127.0.0.1:6000", role: primary, sync_only: true }
            """
        do {
            _ = try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: [:])
            Issue.record("a primary listener took sync_only")
        } catch {
            #expect("\(error)".contains("listeners[0].sync_only: sync_only is only for role replica"))
        }
    }
}
