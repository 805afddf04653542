import Glibc
import Reactor
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// The tests that count this process's descriptors must not overlap with others that open sockets.
    @Suite(.serialized)
    struct DataPlaneTests {
        @Test(arguments: [SpliceMode.off, .on, .auto])
        func echoesSmallMessagesBothWays(splice: SpliceMode) throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, listeners: [staticListener(servers: [echo.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            for i in 0..<50 {
                let message = Array("ping \(i)\n".utf8)
                try TestSocket.writeAll(client, message)
                #expect(try TestSocket.readExactly(client, message.count) == message)
            }
        }

        @Test(arguments: [SpliceMode.off, .on, .auto])
        func carriesPayloadsFarLargerThanAPipeUpstreamIntact(splice: SpliceMode) throws {
            // The server hashes what it receives until EOF and answers with the byte count and checksum.
            let server = try TestServer { fd in
                guard let received = try? TestSocket.readToEnd(fd) else { return }
                let summary = "\(received.count) \(checksum(received))"
                try? TestSocket.writeAll(fd, Array(summary.utf8))
            }
            defer { server.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, pipeSize: 64 * 1024, listeners: [staticListener(servers: [server.port])]))
            defer { proxy.stop() }
            let payload = patternBytes(24 << 20)
            // Generous: the server checksums 24 MB (a debug build, on a machine the integration suite loads).
            let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 120)
            defer { close(client) }
            try TestSocket.writeAll(client, payload)
            Socket.shutdownWrite(client)  // half-close: the server sees EOF and still answers
            let answer = String(decoding: try TestSocket.readToEnd(client), as: UTF8.self)
            #expect(answer == "\(payload.count) \(checksum(payload))")
        }

        @Test(arguments: [SpliceMode.off, .on, .auto])
        func carriesPayloadsFarLargerThanAPipeDownstreamIntact(splice: SpliceMode) throws {
            let payload = patternBytes(24 << 20, seed: 7)
            let server = try TestServer { fd in
                try? TestSocket.writeAll(fd, payload)
            }
            defer { server.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, pipeSize: 64 * 1024, listeners: [staticListener(servers: [server.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 120)
            defer { close(client) }
            let received = try TestSocket.readToEnd(client)
            #expect(received.count == payload.count)
            #expect(received == payload)
        }

        @Test func aServerNameIsTriedAtEveryAddressItResolvesTo() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let refusing = try closedPort()
            // db.test resolves to two addresses; only the second one accepts.
            let resolver = AddressResolver { host, _ in
                host == "db.test"
                    ? .success([SocketAddress(literal: "127.0.0.1", port: refusing)!, SocketAddress(literal: "127.0.0.1", port: echo.port)!])
                    : .failure(ResolutionError(host: host, message: "unknown"))
            }
            let listener = ListenerConfiguration(
                name: "raw", bind: Endpoint(host: "127.0.0.1", port: 0), servers: [Endpoint(host: "db.test", port: 5432)], retries: 0)
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [listener]), resolver: resolver)
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, Array("hello".utf8))
            #expect(try TestSocket.readExactly(client, 5) == Array("hello".utf8))
            #expect(proxy.statistics().listeners["raw"]?.counters.connectErrors == 1)
        }

        @Test func serverHalfCloseStillDeliversTheClientsLaterBytes() throws {
            // The server sends a greeting and shuts down its writing half, then reads the client's bytes.
            let gotFromClient = Mutex<[UInt8]>([])
            let server = try TestServer { fd in
                try? TestSocket.writeAll(fd, Array("hello".utf8))
                Socket.shutdownWrite(fd)
                let rest = (try? TestSocket.readToEnd(fd)) ?? []
                gotFromClient.withLock { $0 = rest }
            }
            defer { server.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [server.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            #expect(try TestSocket.readToEnd(client) == Array("hello".utf8))  // EOF arrives after the greeting
            try TestSocket.writeAll(client, Array("after half-close".utf8))
            Socket.shutdownWrite(client)
            #expect(eventually { gotFromClient.withLock { $0 } == Array("after half-close".utf8) })
        }

        /// A client of a static listener whose server's full accept queue keeps the proxy's connect
        /// pending sends `bytes`; 300 ms later, with the connect still pending, `body` runs.
        private func whileTheConnectIsPending(
            afterSending bytes: [UInt8], _ body: (ServerWithFullAcceptQueue, ProxyHarness, Int32) throws -> Void
        ) throws {
            let slow = try ServerWithFullAcceptQueue()
            defer { slow.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [slow.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, bytes)
            usleep(300_000)
            try body(slow, proxy, client)
        }

        @Test func bytesAndAHalfCloseSentWhileTheConnectIsPendingStillReachTheServer() throws {
            try whileTheConnectIsPending(afterSending: Array("hello".utf8)) { slow, _, client in
                Socket.shutdownWrite(client)  // the end of file reaches the proxy while it still connects
                usleep(300_000)
                let server = try slow.acceptProxy()
                defer { close(server) }
                let received = try TestSocket.readToEnd(server)
                #expect(received == Array("hello".utf8))
                try TestSocket.writeAll(server, Array("got \(received.count)".utf8))
                Socket.shutdownWrite(server)
                #expect(try TestSocket.readToEnd(client) == Array("got 5".utf8))
            }
        }

        @Test func firstBytesThatComeWhileConnectingHoldNoPumpBuffer() throws {
            let request = Array("GET / HTTP/1.0\r\n\r\n".utf8)
            try whileTheConnectIsPending(afterSending: request) { slow, proxy, _ in
                // A connect may take seconds (or fail and be retried): a pooled buffer is not held meanwhile.
                #expect(proxy.statistics().buffersInUse == 0)
                let server = try slow.acceptProxy()
                defer { close(server) }
                #expect(try TestSocket.readExactly(server, request.count) == request)
            }
        }

        @Test func refusedServerIsSkippedForTheNextOne() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let dead = try closedPort()
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [dead, echo.port], retries: 1)]))
            defer { proxy.stop() }
            for _ in 0..<4 {
                let client = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(client, Array("x".utf8))
                #expect(try TestSocket.readExactly(client, 1) == Array("x".utf8))
                close(client)
            }
            let stats = proxy.statistics()
            #expect(stats.listeners["raw"]!.counters.connectErrors >= 1)
        }

        @Test func clientIsClosedWhenNoServerCanBeReached() throws {
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [try closedPort(), try closedPort()], retries: 1)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            #expect(TestSocket.waitForClose(client))
        }

        @Test func idleClientIsClosedAfterTheIdleTimeout() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let timeouts = Timeouts(clientIdle: .milliseconds(300), serverIdle: .seconds(60))
            let proxy = try ProxyHarness(ProxyConfiguration(timeouts: timeouts, listeners: [staticListener(servers: [echo.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, [1])
            #expect(try TestSocket.readExactly(client, 1) == [1])
            let start = SystemClock.monotonicNanoseconds()
            #expect(TestSocket.waitForClose(client))
            let waited = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
            #expect(waited >= 0.25)
        }

        @Test func serverMaxconnQueuesTheNextSessionUntilASlotFrees() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [echo.port], serverMaxconn: 1)]))
            defer { proxy.stop() }
            let first = try TestSocket.connect(port: proxy.port("raw"))
            try TestSocket.writeAll(first, [1])
            #expect(try TestSocket.readExactly(first, 1) == [1])
            let second = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(second) }
            try TestSocket.writeAll(second, [2])
            #expect(eventually { proxy.statistics().listeners["raw"]?.queued == 1 })
            #expect(echo.accepted.load(ordering: .relaxed) == 1)
            close(first)
            #expect(try TestSocket.readExactly(second, 1) == [2])
            #expect(echo.accepted.load(ordering: .relaxed) == 2)
        }

        @Test func queuedSessionIsClosedWhenTheQueueTimeoutPasses() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(
                timeouts: Timeouts(queue: .milliseconds(200)), listeners: [staticListener(servers: [echo.port], serverMaxconn: 1)]))
            defer { proxy.stop() }
            let first = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(first) }
            try TestSocket.writeAll(first, [1])
            #expect(try TestSocket.readExactly(first, 1) == [1])
            let second = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(second) }
            #expect(TestSocket.waitForClose(second))
            #expect(proxy.statistics().listeners["raw"]!.counters.noBackend == 1)
        }

        @Test func listenerMaxconnPausesAcceptingAndResumesWhenASessionEnds() throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [echo.port], maxconn: 1)]))
            defer { proxy.stop() }
            let first = try TestSocket.connect(port: proxy.port("raw"))
            try TestSocket.writeAll(first, [1])
            #expect(try TestSocket.readExactly(first, 1) == [1])
            // The kernel completes the handshake (backlog) but Switchman does not accept it yet.
            let second = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(second) }
            try TestSocket.writeAll(second, [2])
            usleep(200_000)
            #expect(echo.accepted.load(ordering: .relaxed) == 1)
            close(first)
            #expect(try TestSocket.readExactly(second, 1) == [2])
        }

        @Test func descriptorsReturnToTheirBaselineAfterManySessions() throws {
            let echo = try TestServer.echo()
            let dead = try closedPort()
            let baseline = openDescriptorCount()
            do {
                let proxy = try ProxyHarness(ProxyConfiguration(splice: .on, listeners: [staticListener(servers: [dead, echo.port])]))
                for i in 0..<100 {
                    let client = try TestSocket.connect(port: proxy.port("raw"))
                    let message = patternBytes(100_000, seed: UInt64(i))
                    try TestSocket.writeAll(client, message)
                    #expect(try TestSocket.readExactly(client, message.count) == message)
                    close(client)
                }
                #expect(eventually { proxy.statistics().sessions == 0 })
                proxy.stop()
            }
            echo.stop()
            // Test-server threads close their sockets asynchronously.
            #expect(eventually { openDescriptorCount() <= baseline + 2 }, "open: \(openDescriptorCount()), baseline \(baseline)")
        }
    }
}

/// An order-sensitive checksum, eight bytes at a time (a per-byte loop takes seconds in a debug build).
func checksum(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    bytes.withUnsafeBytes { raw in
        var index = 0
        while index + 8 <= raw.count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x100_0000_01b3
            index += 8
        }
        while index < raw.count {
            hash = (hash ^ UInt64(raw[index])) &* 0x100_0000_01b3
            index += 1
        }
    }
    return hash
}
