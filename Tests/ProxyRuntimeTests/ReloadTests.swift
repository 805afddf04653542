import Glibc
import PosixIO
import Reactor
import Synchronization
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

    /// Sizes a reload cycles through while sessions move data: the buffers and pipes held by live
    /// pumps must go back to the pools they came from, and be filled only up to their own capacity.
    static let poolSizes: [(buffer: Int, pipe: Int, pipes: Int)] = [
        (16 << 10, 64 << 10, 8), (1 << 20, 1 << 20, 2), (4 << 10, 16 << 10, 1), (256 << 10, 256 << 10, 64),
        (8 << 10, 128 << 10, 0), (1 << 20, 64 << 10, 16),
    ]

    @Test(arguments: [SpliceMode.off, .on, .auto])
    func reloadsThatResizeBuffersAndPipesKeepLiveSessionsIntactBothWays(splice: SpliceMode) throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        func configuration(_ sizes: (buffer: Int, pipe: Int, pipes: Int), port: UInt16) -> ProxyConfiguration {
            ProxyConfiguration(
                splice: splice, pipeSize: sizes.pipe, pipePoolSize: sizes.pipes, bufferSize: sizes.buffer,
                listeners: [ListenerConfiguration(
                    name: "raw", bind: Endpoint(host: "127.0.0.1", port: port), servers: [Endpoint(host: "127.0.0.1", port: echo.port)])])
        }
        let proxy = try ProxyHarness(configuration(Self.poolSizes[0], port: 0))
        defer { proxy.stop() }
        let port = proxy.port("raw")
        let sessions = 4
        let payloadSize = 6 << 20
        let results = Mutex<[Int: Bool]>([:])
        let started = Atomic<Int>(0)
        for index in 0..<sessions {
            DetachedThread.spawn(name: "reload-client") {
                let payload = patternBytes(payloadSize, seed: UInt64(index + 1))
                guard let fd = try? TestSocket.connect(port: port, timeoutSeconds: 60) else {
                    results.withLock { $0[index] = false }
                    return
                }
                defer { close(fd) }
                started.add(1, ordering: .relaxed)
                // The writer runs ahead while the reader below lags, so pumps hold bytes when the reloads land.
                DetachedThread.spawn(name: "reload-writer") {
                    var offset = 0
                    while offset < payload.count {
                        let end = min(offset + 256 << 10, payload.count)
                        guard (try? TestSocket.writeAll(fd, Array(payload[offset..<end]))) != nil else { return }
                        offset = end
                    }
                    Socket.shutdownWrite(fd)
                }
                var received: [UInt8] = []
                received.reserveCapacity(payloadSize)
                var chunk = [UInt8](repeating: 0, count: 32 << 10)
                while received.count < payloadSize {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    received.append(contentsOf: chunk[0..<n])
                    usleep(300)
                }
                results.withLock { $0[index] = received.count == payload.count && checksum(received) == checksum(payload) }
            }
        }
        #expect(eventually { started.load(ordering: .relaxed) == sessions })
        for sizes in Self.poolSizes.dropFirst() + Self.poolSizes.prefix(1) {
            usleep(40_000)
            try proxy.runtime.reload(configuration(sizes, port: port))
        }
        #expect(eventually(seconds: 120) { results.withLock { $0.count } == sessions })
        #expect(results.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<sessions).map { ($0, true) }))
        #expect(eventually { proxy.statistics().sessions == 0 })
        let statistics = proxy.statistics()
        #expect(statistics.buffersInUse == 0)
        #expect(statistics.pipesInUse == 0)
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

    @Test func reloadedStaticServersReachNewSessionsOnAKeptBindAndAfterARebind() throws {
        let a = try TestServer { fd in try? TestSocket.writeAll(fd, Array("A".utf8)); _ = try? TestSocket.readToEnd(fd) }
        let b = try TestServer { fd in try? TestSocket.writeAll(fd, Array("B".utf8)); _ = try? TestSocket.readToEnd(fd) }
        defer { a.stop(); b.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener("raw", servers: [a.port])]))
        defer { proxy.stop() }
        let port = proxy.port("raw")
        func raw(_ server: UInt16) -> ListenerConfiguration {
            ListenerConfiguration(name: "raw", bind: Endpoint(host: "127.0.0.1", port: port), servers: [Endpoint(host: "127.0.0.1", port: server)])
        }
        func answer() -> [UInt8]? {
            guard let probe = try? TestSocket.connect(port: port) else { return nil }
            defer { close(probe) }
            return try? TestSocket.readExactly(probe, 1)
        }
        // Pin the bind to the port it got, so the next reload keeps the socket (no rebind).
        try proxy.runtime.reload(ProxyConfiguration(listeners: [raw(a.port)]))
        #expect(eventually { proxy.runtime.boundAddresses["raw"]?.port == port && answer() == Array("A".utf8) })
        try proxy.runtime.reload(ProxyConfiguration(listeners: [raw(b.port)]))
        #expect(eventually { answer() == Array("B".utf8) }, "new sessions still reach the old server after the reload")
        // Then a new bind and new servers: the new socket takes this reload's servers, not the last one's.
        let c = try TestServer { fd in try? TestSocket.writeAll(fd, Array("C".utf8)); _ = try? TestSocket.readToEnd(fd) }
        defer { c.stop() }
        try proxy.runtime.reload(ProxyConfiguration(listeners: [
            ListenerConfiguration(name: "raw", bind: Endpoint(host: "127.0.0.1", port: 0), servers: [Endpoint(host: "127.0.0.1", port: c.port)]),
        ]))
        #expect(eventually { proxy.runtime.boundAddresses["raw"]?.port != port })
        let rebound = proxy.port("raw")
        #expect(eventually {
            guard let probe = try? TestSocket.connect(port: rebound) else { return false }
            defer { close(probe) }
            return (try? TestSocket.readExactly(probe, 1)) == Array("C".utf8)
        }, "the rebound listener reaches an earlier reload's server")
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
