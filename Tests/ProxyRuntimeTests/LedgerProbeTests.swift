import Glibc
import PosixIO
import Reactor
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

/// The data plane's facts for the failover ledger: first and last bytes per route generation, and
/// how held connections' waits ended.
extension SocketTests {
    @Suite(.serialized)
    struct LedgerProbeTests {
        /// Statistics from a draining collection (takes the wait outcomes recorded so far).
        func drained(_ proxy: ProxyHarness) -> RuntimeStatistics {
            let result = Mutex<RuntimeStatistics?>(nil)
            proxy.runtime.collectStatistics(drainingWaits: true) { stats in result.withLock { $0 = stats } }
            _ = eventually(seconds: 5) { result.withLock { $0 != nil } }
            return result.withLock { $0! }
        }

        @Test func aHeldConnectionRecordsItsWaitAndTheNewTermsFirstByte() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "no writable leader"), servers: [], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(eventually { proxy.statistics().listeners["primary"]?.held == 1 })
            usleep(150_000)
            let beforeRelease = SystemClock.monotonicNanoseconds()
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", echo.port, generation: 7)], closesStaleSessions: true))
            // The echo server returns the start-up packet: bytes went both ways through generation 7.
            #expect(eventually { (proxy.statistics().generations[7]?.lastByteToClient ?? 0) != 0 })

            let stats = drained(proxy)
            let times = try #require(stats.generations[7])
            #expect(times.firstByteToServer >= beforeRelease)
            #expect(times.lastByteToClient >= times.firstByteToServer)
            #expect(stats.waitSamples.count == 1)
            let sample = try #require(stats.waitSamples.first)
            #expect(sample.kind == .connected)
            #expect(sample.wait >= 150_000_000, "waited \(sample.wait) ns")
            #expect(stats.listeners["primary"]?.holdWaits.count == 1)
            #expect(drained(proxy).waitSamples.isEmpty, "a drain takes the outcomes once")
            #expect(proxy.statistics().listeners["primary"]?.holdWaits.count == 1, "the histogram is cumulative")
        }

        @Test func aHoldThatTimesOutIsRecordedAsTimedOut() throws {
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .milliseconds(200)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "no writable leader"), servers: [], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(TestSocket.waitForClose(client))
            #expect(eventually { proxy.statistics().listeners["primary"]?.counters.noBackend == 1 })
            let stats = drained(proxy)
            #expect(stats.waitSamples.map(\.kind) == [.timedOut])
            #expect((stats.waitSamples.first?.wait ?? 0) >= 200_000_000)
            #expect(stats.listeners["primary"]?.holdWaits.count == 1)
        }

        @Test func aRefusalWithoutAHoldIsRecordedAsRefusedAndNotAsAWait() throws {
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .unavailable(reason: "writes refused"), servers: [], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(TestSocket.waitForClose(client))
            #expect(eventually { proxy.statistics().listeners["primary"]?.counters.noBackend == 1 })
            let stats = drained(proxy)
            #expect(stats.waitSamples.map(\.kind) == [.refused])
            #expect(stats.listeners["primary"]?.holdWaits.count == 0)
        }

        @Test func anOldTermKeepsItsLastReplyAfterItLeavesTheRoute() throws {
            let old = try TestServer.echo()
            let new = try TestServer.echo()
            defer { old.stop(); new.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", old.port, generation: 3)], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(eventually { (proxy.statistics().generations[3]?.lastByteToClient ?? 0) != 0 })
            let seen = try #require(proxy.statistics().generations[3])
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node2", new.port, generation: 4)], closesStaleSessions: true))
            #expect(TestSocket.waitForClose(client))
            #expect(proxy.statistics().generations[3] == seen)
        }
    }
}

extension SocketTests.LedgerProbeTests {
    @Test func aClientThatHangsUpWhileHeldIsRecordedAsAbandoned() throws {
        let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
        defer { proxy.stop() }
        setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "no writable leader"), servers: [], closesStaleSessions: true))
        let client = try TestSocket.connect(port: proxy.port("primary"))
        try TestSocket.writeAll(client, Wire.startup())
        #expect(eventually { proxy.statistics().listeners["primary"]?.held == 1 })
        close(client)
        #expect(eventually { proxy.statistics().listeners["primary"]?.held == 0 })
        let stats = drained(proxy)
        #expect(stats.waitSamples.map(\.kind) == [.abandoned])
        #expect(stats.listeners["primary"]?.holdWaits.count == 1)
    }
}
