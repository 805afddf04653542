import Glibc
import Reactor
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

/// Cluster-role listeners follow the routes discovery publishes: hold, release, close stale sessions.
extension SocketTests {
@Suite(.serialized)
struct RouteUpdateTests {
    private func primaryListener() -> ListenerConfiguration {
        ListenerConfiguration(name: "primary", bind: Endpoint(host: "127.0.0.1", port: 0), role: .primary)
    }

    private func route(_ server: TestServer, name: String, generation: UInt64) -> ListenerRoute {
        ListenerRoute(
            state: .ready, servers: [RouteServer(name: name, endpoint: Endpoint(host: "127.0.0.1", port: server.port), generation: generation)],
            closesStaleSessions: true)
    }

    @Test func aHeldConnectionConnectsOnceTheRouteTurnsReady() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [primaryListener()]))
        defer { proxy.stop() }
        let client = try TestSocket.connect(port: proxy.port("primary"))
        defer { close(client) }
        try TestSocket.writeAll(client, Array("hello".utf8))
        #expect(eventually { proxy.statistics().listeners["primary"]?.held == 1 })
        #expect(echo.accepted.load(ordering: .relaxed) == 0)
        proxy.runtime.updateRoutes(["primary": route(echo, name: "node1", generation: 1)])
        #expect(try TestSocket.readExactly(client, 5) == Array("hello".utf8))
    }

    @Test func aLeaderChangeClosesSessionsToTheOldLeaderAndOnlyThemAndSaysSo() throws {
        let old = try TestServer.echo()
        let new = try TestServer.echo()
        defer { old.stop(); new.stop() }
        let logs = CapturedLogs()
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [primaryListener()]), logs: logs)
        defer { proxy.stop() }
        proxy.runtime.updateRoutes(["primary": route(old, name: "node1", generation: 1)])
        let first = try TestSocket.connect(port: proxy.port("primary"))
        defer { close(first) }
        try TestSocket.writeAll(first, Array("one".utf8))
        #expect(try TestSocket.readExactly(first, 3) == Array("one".utf8))

        let closed = ClosedCount()
        proxy.runtime.updateRoutes(["primary": route(new, name: "node2", generation: 2)]) { closed.set($0) }
        #expect(TestSocket.waitForClose(first))
        #expect(eventually { closed.value == 1 })
        let second = try TestSocket.connect(port: proxy.port("primary"))
        defer { close(second) }
        try TestSocket.writeAll(second, Array("two".utf8))
        #expect(try TestSocket.readExactly(second, 3) == Array("two".utf8))
        #expect(new.accepted.load(ordering: .relaxed) == 1)
        #expect(proxy.statistics().listeners["primary"]!.counters.closedByRouteChange == 1)
        // An operator reading the log learns what closed it (the session log line is optional).
        let closes = logs.lines.filter { $0.contains("route change closed") }
        #expect(closes.count == 1, "log: \(logs.lines)")
        #expect(closes.first?.hasPrefix("notice route change closed 1 session(s) to node1: it left the primary route") == true)
        #expect(closes.first?.contains("listener=primary") == true)
    }

    @Test(arguments: [ListenerRole.primary, .replica])
    func aRefusedConnectIsRetriedWithinTheHoldUntilTheNodeAcceptsAgain(role: ListenerRole) throws {
        // The node's PostgreSQL restarts while discovery keeps routing to it (Patroni keeps the
        // leader key): nothing listens on its port for a while, then it accepts again.
        let port = try closedPort()
        let listener = ListenerConfiguration(name: "cluster", bind: Endpoint(host: "127.0.0.1", port: 0), role: role)
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [listener]))
        defer { proxy.stop() }
        let server = RouteServer(name: "node1", endpoint: Endpoint(host: "127.0.0.1", port: port), generation: 1)
        proxy.runtime.updateRoutes(["cluster": ListenerRoute(state: .ready, servers: [server], closesStaleSessions: true)])
        let client = try TestSocket.connect(port: proxy.port("cluster"), timeoutSeconds: 8)
        defer { close(client) }
        try TestSocket.writeAll(client, Array("hello".utf8))
        #expect(eventually { proxy.statistics().listeners["cluster"]!.counters.connectErrors >= 2 })
        let restarted = try TestServer.echo(port: port)
        defer { restarted.stop() }
        // Served by the restarted node well within the 30 s hold, with no route change in between.
        #expect(try TestSocket.readExactly(client, 5) == Array("hello".utf8))
    }

    @Test func leaderTermsThatEndedLeaveNoServerCounterBehind() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [primaryListener()]))
        defer { proxy.stop() }
        for generation in 1...20 as ClosedRange<UInt64> {
            setRoute(proxy, "primary", route(echo, name: "node\(generation % 2)", generation: generation))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, [UInt8(generation)])
            #expect(try TestSocket.readExactly(client, 1) == [UInt8(generation)])
        }
        #expect(proxy.statistics().routeServersCached == 1)
    }

    @Test func aListenerRemovedByAReloadLeavesNoServerCounterBehind() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let replicas = ListenerConfiguration(name: "replicas", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica)
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [primaryListener(), replicas]))
        defer { proxy.stop() }
        setRoute(proxy, "primary", route(echo, name: "node1", generation: 1))
        setRoute(proxy, "replicas", route(echo, name: "node2", generation: 2))
        // The statistic is the largest count of any of the harness's two loops: 16 sessions through
        // each listener make both loops meet both servers (but with odds of 2^-15).
        for name in ["primary", "replicas"] {
            for _ in 0..<16 {
                let client = try TestSocket.connect(port: proxy.port(name))
                defer { close(client) }
                try TestSocket.writeAll(client, [1])
                #expect(try TestSocket.readExactly(client, 1) == [1])
            }
        }
        #expect(eventually { proxy.statistics().routeServersCached == 2 })
        let kept = proxy.runtime.configuration.listeners.filter { $0.name == "primary" }
        try proxy.runtime.reload(ProxyConfiguration(listeners: kept))
        // The next routes name only the primary's server: the removed listener's is forgotten.
        setRoute(proxy, "primary", route(echo, name: "node1", generation: 1))
        #expect(eventually { proxy.statistics().routeServersCached == 1 })
    }

    @Test func aSessionWaitingForItsLeadersNameFollowsALeaderChange() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        // The old leader's name takes a second to resolve; the leader changes meanwhile.
        let resolver = AddressResolver { host, port in
            usleep(1_000_000)
            return .failure(ResolutionError(host: host, message: "gone"))
        }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [primaryListener()]), resolver: resolver)
        defer { proxy.stop() }
        let slow = RouteServer(name: "node1", endpoint: Endpoint(host: "node1.test", port: 5432), generation: 1)
        proxy.runtime.updateRoutes(["primary": ListenerRoute(state: .ready, servers: [slow], closesStaleSessions: true)])
        let client = try TestSocket.connect(port: proxy.port("primary"))
        defer { close(client) }
        try TestSocket.writeAll(client, Array("hello".utf8))
        usleep(200_000)
        proxy.runtime.updateRoutes(["primary": route(echo, name: "node2", generation: 2)])
        #expect(try TestSocket.readExactly(client, 5) == Array("hello".utf8))
        #expect(proxy.statistics().listeners["primary"]?.counters.movedByRouteChange == 1)
    }

    @Test func theSameLeaderInANewTermIsStaleToo() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [primaryListener()]))
        defer { proxy.stop() }
        proxy.runtime.updateRoutes(["primary": route(echo, name: "node1", generation: 1)])
        let client = try TestSocket.connect(port: proxy.port("primary"))
        defer { close(client) }
        try TestSocket.writeAll(client, [1])
        #expect(try TestSocket.readExactly(client, 1) == [1])
        // node1 was demoted and promoted again: sessions from its earlier term must not survive.
        proxy.runtime.updateRoutes(["primary": route(echo, name: "node1", generation: 3)])
        #expect(TestSocket.waitForClose(client))
    }
}
}

/// A count set from a loop thread and read by the test.
private final class ClosedCount: Sendable {
    private let stored = Mutex(-1)
    func set(_ value: Int) { stored.withLock { $0 = value } }
    var value: Int { stored.withLock { $0 } }
}
