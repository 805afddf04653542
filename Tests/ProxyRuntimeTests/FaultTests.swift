import Glibc
import PosixIO
import Reactor
import Synchronization
import SwitchmanCore
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// Backends and clients that fail the way real ones do (reset, silence, unreachable), each test
    /// named for what Switchman must do about it. Serialized: they count this process's descriptors.
    @Suite(.serialized)
    struct FaultTests {
        // MARK: - Backends

        @Test(arguments: [SpliceMode.off, .on])
        func aServerThatResetsMidStreamClosesItsClientPromptlyAndLeavesNoDescriptorBehind(splice: SpliceMode) throws {
            let server = try TestServer { fd in
                try? TestSocket.writeAll(fd, patternBytes(256 << 10))
                resetOnClose(fd)  // the handler's return closes it: RST instead of FIN
            }
            let baseline = openDescriptorCount()
            do {
                let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, listeners: [staticListener(servers: [server.port])]))
                defer { proxy.stop() }
                let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 5)
                defer { close(client) }
                let start = SystemClock.monotonicNanoseconds()
                // Some of the stream may be lost with the reset; the client must see its end either way.
                let ended = readUntilClosed(client)
                #expect(ended.closed, "read failed: \(ended.error ?? "timeout")")
                #expect(ended.count <= 256 << 10)
                #expect(seconds(since: start) < 3)
                #expect(eventually { proxy.statistics().sessions == 0 })
            }
            server.stop()
            #expect(eventually { openDescriptorCount() <= baseline + 2 }, "open: \(openDescriptorCount()), baseline \(baseline)")
        }

        @Test func aServerThatAcceptsAndNeverAnswersIsGivenUpAfterTheStartupAnswerTimeoutWithAnError() throws {
            let silent = try FakePostgres { fd, _ in _ = try? TestSocket.readToEnd(fd) }
            defer { silent.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(
                timeouts: Timeouts(startupAnswer: .milliseconds(300)), listeners: [staticListener(servers: [silent.port], retries: 1)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 8)
            defer { close(client) }
            let start = SystemClock.monotonicNanoseconds()
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.severity == "FATAL")
            #expect(fields.message?.contains("did not answer the start-up within 300ms") == true, "\(fields.message ?? "")")
            #expect(TestSocket.waitForClose(client))
            // One try and one retry of 300 ms each, with a short pause between.
            #expect(seconds(since: start) < 3)
            #expect(silent.startups.withLock { $0.count } == 2)
            #expect(eventually { proxy.statistics().sessions == 0 })
        }

        @Test func aRawSessionWhoseServerFallsSilentIsClosedAfterTheServerIdleTimeout() throws {
            // Not PostgreSQL: the pumps carry it, and only server_idle can end a server's silence.
            let silent = try TestServer { fd in _ = try? TestSocket.readToEnd(fd) }
            defer { silent.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(
                timeouts: Timeouts(serverIdle: .milliseconds(400)), listeners: [staticListener(servers: [silent.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 8)
            defer { close(client) }
            try TestSocket.writeAll(client, Array("GET / HTTP/1.0\r\n\r\n".utf8))
            let start = SystemClock.monotonicNanoseconds()
            #expect(TestSocket.waitForClose(client))
            let waited = seconds(since: start)
            #expect(waited >= 0.3 && waited < 4, "closed after \(waited) s")
        }

        @Test func aServerWhoseBacklogIsFullIsGivenUpAfterTheConnectTimeoutAndTheNextOneServes() throws {
            // A listener that never accepts, its backlog full: the kernel drops further SYNs, as
            // for a host that is down. (Only 127.0.0.0/8 is used, so this stands in for one.)
            let (blackhole, blackholePort) = try TestSocket.listen()
            defer { close(blackhole) }
            Glibc.listen(blackhole, 0)
            var fillers: [Int32] = []
            defer { fillers.forEach { close($0) } }
            for _ in 0..<4 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                _ = SocketAddress(literal: "127.0.0.1", port: blackholePort)!.withSockAddr { Glibc.connect(fd, $0, $1) }
                fillers.append(fd)
            }
            usleep(100_000)
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(
                timeouts: Timeouts(connect: .milliseconds(300)),
                listeners: [staticListener(servers: [blackholePort, echo.port], balance: .roundrobin, retries: 1)]))
            defer { proxy.stop() }
            for _ in 0..<4 {
                let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 8)
                defer { close(client) }
                let start = SystemClock.monotonicNanoseconds()
                try TestSocket.writeAll(client, [42])
                #expect(try TestSocket.readExactly(client, 1) == [42])
                #expect(seconds(since: start) < 3)
            }
            #expect((proxy.statistics().listeners["raw"]?.counters.connectErrors ?? 0) >= 1)
        }

        @Test func anUnreachableServerIsRefusedWithA08006ErrorAtOnce() throws {
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [try closedPort()], retries: 2)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 8)
            defer { close(client) }
            let start = SystemClock.monotonicNanoseconds()
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.sqlstate == "08006")
            // Refused connects, not a connect timeout: the answer comes at once.
            #expect(seconds(since: start) < 2)
            #expect((proxy.statistics().listeners["raw"]?.counters.connectErrors ?? 0) >= 1)
        }

        // MARK: - Clients

        @Test(arguments: [SpliceMode.off, .on])
        func aClientThatResetsMidCopyHasItsServerConnectionClosedPromptly(splice: SpliceMode) throws {
            // The node accepts, answers the COPY with CopyInResponse and reads CopyData until its end.
            let ended = Mutex<(bytes: Int, at: UInt64)?>(nil)
            let node = try FakePostgres { fd, _ in
                try? TestSocket.writeAll(fd, Wire.authentication(0) + Wire.readyForQuery)
                guard (try? Wire.readMessage(fd))?.type == UInt8(ascii: "Q") else { return }
                try? TestSocket.writeAll(fd, Wire.message("G", [0, 0, 0]))
                var total = 0
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                    if n <= 0 { break }
                    total += n
                }
                ended.withLock { $0 = (total, SystemClock.monotonicNanoseconds()) }
            }
            let baseline = openDescriptorCount()
            do {
                let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, listeners: [staticListener(servers: [node.port])]))
                defer { proxy.stop() }
                let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 8)
                try TestSocket.writeAll(client, Wire.startup())
                _ = try Wire.readStartupAnswer(client)
                try TestSocket.writeAll(client, Wire.message("Q", Array("copy t from stdin\0".utf8)))
                #expect(try Wire.readMessage(client).type == UInt8(ascii: "G"))
                let row = Wire.message("d", patternBytes(8192))
                for _ in 0..<64 { try TestSocket.writeAll(client, row) }
                resetOnClose(client)
                close(client)
                let resetAt = SystemClock.monotonicNanoseconds()
                #expect(eventually(seconds: 5) { ended.withLock { $0 } != nil }, "the node's connection outlived the client")
                if let end = ended.withLock({ $0 }) {
                    // The node's end may be stamped before `resetAt` is read (another thread saw it first).
                    #expect(end.at <= resetAt || Double(end.at - resetAt) / 1e9 < 3)
                    #expect(end.bytes <= 64 * row.count)
                }
                #expect(eventually { proxy.statistics().sessions == 0 })
            }
            node.stop()
            #expect(eventually { openDescriptorCount() <= baseline + 2 }, "open: \(openDescriptorCount()), baseline \(baseline)")
        }
    }
}

/// Makes `close(fd)` send a RST (SO_LINGER with a zero timeout) instead of a FIN.
func resetOnClose(_ fd: Int32) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
}

/// Seconds on the monotonic clock since `start` (nanoseconds).
func seconds(since start: UInt64) -> Double {
    Double(SystemClock.monotonicNanoseconds() &- start) / 1e9
}

/// Reads until end of file or a reset (both count as closed); a timeout or other error does not.
func readUntilClosed(_ fd: Int32) -> (closed: Bool, count: Int, error: String?) {
    var total = 0
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if n == 0 { return (true, total, nil) }
        if n < 0 {
            if errno == EINTR { continue }
            if errno == ECONNRESET { return (true, total, nil) }
            return (false, total, String(cString: strerror(errno)))
        }
        total += n
    }
}

extension SocketTests {
    /// Hostile clients on the write and read ports (the stats port: SwitchmanFaultTests).
    @Suite(.serialized)
    struct HostileClientTests {
        @Test func garbageHalfOpenAndSlowlorisClientsOnTheWriteAndReadPortsLeaveOtherClientsStartUpLatencyBounded() throws {
            let primary = try FakePostgres.accepting(keyBase: 40_000)
            let replica = try FakePostgres.accepting(keyBase: 50_000)
            defer { primary.stop(); replica.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(5)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("n1", primary.port)], closesStaleSessions: true))
            setRoute(proxy, "replicas", ListenerRoute(state: .ready, servers: [server("n2", replica.port)], closesStaleSessions: true))
            let ports = [proxy.port("primary"), proxy.port("replicas")]

            let quiet = try startUpLatencies(ports: ports, rounds: 10)
            let hostile = try HostileClients(ports: ports, perKind: 40)
            defer { hostile.stop() }
            // Spread over the slowloris's trickle (a byte every 100 ms).
            let underAttack = try startUpLatencies(ports: ports, rounds: 10, pauseMicroseconds: 150_000)
            hostile.stop()
            #expect(underAttack.max()! < 1.0, "start-ups took up to \(underAttack.max()!) s with hostile clients connected")
            #expect(hostile.trickledBytes.load(ordering: .relaxed) > 0)
            #expect(eventually { proxy.statistics().sessions == 0 }, "\(proxy.statistics().sessions) sessions left")
            print("[fault] write/read ports, \(hostile.count) hostile clients: start-up max \(milliseconds(quiet.max()!)) ms quiet, \(milliseconds(underAttack.max()!)) ms under attack")
        }

        /// Seconds each client took from connect to ReadyForQuery, `rounds` per port.
        private func startUpLatencies(ports: [UInt16], rounds: Int, pauseMicroseconds: UInt32 = 0) throws -> [Double] {
            var latencies: [Double] = []
            for _ in 0..<rounds {
                usleep(pauseMicroseconds)
                for port in ports {
                    let start = SystemClock.monotonicNanoseconds()
                    let client = try TestSocket.connect(port: port, timeoutSeconds: 8)
                    defer { close(client) }
                    try TestSocket.writeAll(client, Wire.startup())
                    #expect(Wire.key(in: try Wire.readStartupAnswer(client).events) != nil)
                    latencies.append(seconds(since: start))
                }
            }
            return latencies
        }
    }
}

/// Bad clients held open on each of `ports`, `perKind` of each kind: garbage (random bytes, then
/// silence), silent (connect, nothing), half-closed (part of a StartupMessage, then FIN), and
/// slowloris (a StartupMessage one byte every 100 ms, from a thread of its own).
final class HostileClients: Sendable {
    private let descriptors: Mutex<[Int32]>
    private let slow: [Int32]
    private let stopped = Atomic<Bool>(false)
    private let trickleDone = Atomic<Bool>(false)
    let trickledBytes = Atomic<Int>(0)
    let count: Int

    init(ports: [UInt16], perKind: Int) throws {
        var all: [Int32] = []
        var slow: [Int32] = []
        let startup = Wire.startup()
        for port in ports {
            for index in 0..<perKind {
                let garbage = try TestSocket.connect(port: port)
                try TestSocket.writeAll(garbage, patternBytes(512, seed: UInt64(index)))
                let silent = try TestSocket.connect(port: port)
                let halfClosed = try TestSocket.connect(port: port)
                try TestSocket.writeAll(halfClosed, Array(startup.prefix(6)))
                Socket.shutdownWrite(halfClosed)
                let trickling = try TestSocket.connect(port: port)
                all += [garbage, silent, halfClosed, trickling]
                slow.append(trickling)
            }
        }
        descriptors = Mutex(all)
        self.slow = slow
        count = all.count
        DetachedThread.spawn(name: "slowloris") { [self] in
            var offset = 0
            while !stopped.load(ordering: .acquiring) && offset < startup.count {
                for fd in self.slow { _ = startup.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, 1, Int32(MSG_NOSIGNAL)) } }
                trickledBytes.add(self.slow.count, ordering: .relaxed)
                offset += 1
                usleep(100_000)
            }
            trickleDone.store(true, ordering: .releasing)
        }
    }

    /// Stops the trickle and closes every bad client (idempotent).
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = eventually(seconds: 5) { trickleDone.load(ordering: .acquiring) }
        descriptors.withLock { fds in
            fds.forEach { close($0) }
            fds = []
        }
    }
}

func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
