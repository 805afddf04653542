import Glibc
import PosixIO
import SwitchmanCore
import Testing
@testable import ProxyRuntime

extension SocketTests {
@Suite(.serialized)
struct ReloadTests {
    @Test func reloadOpensAnAddedListenerAndDrainsARemovedOneWithoutCuttingItsSessions() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let first = staticListener("first", servers: [echo.port])
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [first]))
        defer { proxy.stop() }
        let oldPort = proxy.port("first")
        let live = try TestSocket.connect(port: oldPort)
        defer { close(live) }
        try TestSocket.writeAll(live, [1])
        #expect(try TestSocket.readExactly(live, 1) == [1])

        // Replace "first" by "second": first's socket closes, its live session keeps working.
        let restart = try proxy.runtime.reload(ProxyConfiguration(listeners: [staticListener("second", servers: [echo.port])]))
        #expect(restart.isEmpty)
        #expect(eventually { proxy.runtime.boundAddresses["second"] != nil })
        let fresh = try TestSocket.connect(port: proxy.port("second"))
        defer { close(fresh) }
        try TestSocket.writeAll(fresh, [2])
        #expect(try TestSocket.readExactly(fresh, 1) == [2])
        #expect(proxy.runtime.boundAddresses["first"] == nil)
        #expect(eventually { (try? TestSocket.connect(port: oldPort, timeoutSeconds: 1)).map { close($0); return false } ?? true })
        try TestSocket.writeAll(live, [3])
        #expect(try TestSocket.readExactly(live, 1) == [3])
    }

    @Test func reloadChangesServersForNewSessionsOnly() throws {
        let a = try TestServer { fd in try? TestSocket.writeAll(fd, Array("A".utf8)); _ = try? TestSocket.readToEnd(fd) }
        let b = try TestServer { fd in try? TestSocket.writeAll(fd, Array("B".utf8)); _ = try? TestSocket.readToEnd(fd) }
        defer { a.stop(); b.stop() }
        var listener = staticListener("raw", servers: [a.port])
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [listener]))
        defer { proxy.stop() }
        let port = proxy.port("raw")
        let before = try TestSocket.connect(port: port)
        defer { close(before) }
        #expect(try TestSocket.readExactly(before, 1) == Array("A".utf8))
        listener = ListenerConfiguration(
            name: "raw", bind: Endpoint(host: "127.0.0.1", port: port), servers: [Endpoint(host: "127.0.0.1", port: b.port)])
        try proxy.runtime.reload(ProxyConfiguration(listeners: [listener]))
        // The reload is applied on the loops asynchronously: poll with new sessions.
        #expect(eventually {
            guard let probe = try? TestSocket.connect(port: port) else { return false }
            defer { close(probe) }
            return (try? TestSocket.readExactly(probe, 1)) == Array("B".utf8)
        })
        // The session opened before still talks to A.
        Socket.shutdownWrite(before)
        #expect(TestSocket.waitForClose(before))
    }

    @Test func reloadThatNeedsARestartSaysSoAndKeepsThreads() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(threads: 2, listeners: [staticListener(servers: [echo.port])]))
        defer { proxy.stop() }
        let port = proxy.port("raw")
        let changes = try proxy.runtime.reload(ProxyConfiguration(
            threads: 4, listeners: [ListenerConfiguration(name: "raw", bind: Endpoint(host: "127.0.0.1", port: port), servers: [Endpoint(host: "127.0.0.1", port: echo.port)])]))
        #expect(changes.contains { $0.hasPrefix("threads") })
    }

    @Test func reloadRunsTheWholeReloadedConfigurationButWhatNeedsARestart() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let old = ProxyConfiguration(threads: 2, listeners: [staticListener(servers: [echo.port])])
        let proxy = try ProxyHarness(old)
        defer { proxy.stop() }
        let listener = ListenerConfiguration(
            name: "raw", bind: Endpoint(host: "127.0.0.1", port: proxy.port("raw")), servers: [Endpoint(host: "127.0.0.1", port: echo.port)],
            maxconn: 5)
        let fresh = ProxyConfiguration(
            threads: 4, maxconn: 321, timeouts: Timeouts(connect: .seconds(3), queue: .seconds(2)), logSessions: false, splice: .off,
            pipeSize: 1 << 17, pipePoolSize: 5, bufferSize: 1 << 13, tcpKeepalive: nil, resolveTTL: .seconds(9), listeners: [listener],
            stats: StatsConfiguration(bind: Endpoint(host: "127.0.0.1", port: 1)))
        try proxy.runtime.reload(fresh)
        let running = proxy.runtime.configuration
        #expect(running == fresh.applied(over: old))
        #expect(running.threads == 2 && running.stats == old.stats)
        #expect(running.maxconn == 321 && running.resolveTTL == .seconds(9) && running.listeners == [listener])
    }

    @Test func reloadWithABindThatFailsKeepsTheOldListeners() throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let (busy, busyPort) = try TestSocket.listen()
        defer { close(busy) }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [echo.port])]))
        defer { proxy.stop() }
        let port = proxy.port("raw")
        let clash = ListenerConfiguration(name: "other", bind: Endpoint(host: "127.0.0.1", port: busyPort), servers: [Endpoint(host: "127.0.0.1", port: echo.port)])
        #expect(throws: ListenerError.self) {
            try proxy.runtime.reload(ProxyConfiguration(listeners: [staticListener(servers: [echo.port]), clash]))
        }
        let client = try TestSocket.connect(port: port)
        defer { close(client) }
        try TestSocket.writeAll(client, [9])
        #expect(try TestSocket.readExactly(client, 1) == [9])
    }
}
}
