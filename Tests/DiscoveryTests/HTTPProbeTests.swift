import Glibc
import PosixIO
import Reactor
import Synchronization
import Testing
@testable import Discovery

/// The REST probe against real loopback servers: every way of framing an answer, every way a
/// server can fail, and its socket closed in every case.
///
/// Serialized so the descriptor-count test sees only its own probes; every test also checks that
/// the probe's own socket (by inode, which no other socket can share) is gone when it finished.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct HTTPProbeTests {
    static let patroniBody = #"{"state": "running", "role": "master", "server_version": 150010, "xlog": {"location": 50331648}, "timeline": 1}"#

    @Test func sendsAMinimalGETWithHostUserAgentAcceptAndConnectionClose() throws {
        let server = try HTTPTestServer.answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, host: "pg-master:8008", path: "/primary")
        #expect(run.result == .response(status: 200, body: []))
        #expect(server.requests == [
            "GET /primary HTTP/1.1\r\nHost: pg-master:8008\r\nUser-Agent: switchman-check\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        ])
        run.expectSocketClosed()
    }

    @Test func returnsStatusAndBodyOfA200WithContentLength() throws {
        let body = Self.patroniBody
        let server = try HTTPTestServer.answering(
            "HTTP/1.1 200 OK\r\nServer: BaseHTTP/0.6 Python/3.11.2\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port)
        #expect(run.result == .response(status: 200, body: Array(body.utf8)))
        #expect(run.completedOnLoop)
        run.expectSocketClosed()
    }

    @Test func returnsA503AsAResponseNotAFailure() throws {
        let body = #"{"state": "running", "role": "replica"}"#
        let server = try HTTPTestServer.answering(
            "HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, path: "/primary")
        #expect(run.result == .response(status: 503, body: Array(body.utf8)))
        run.expectSocketClosed()
    }

    @Test func joinsAChunkedBody() throws {
        let server = try HTTPTestServer.answering(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"state\":\r\n0b\r\n \"running\"}\r\n0\r\n\r\n")
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port)
        #expect(run.result == .response(status: 200, body: Array(#"{"state": "running"}"#.utf8)))
        run.expectSocketClosed()
    }

    @Test func readsAnHTTP10BodyDelimitedByTheConnectionClosing() throws {
        let body = Self.patroniBody
        let server = try HTTPTestServer.answering("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n\(body)")
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port)
        #expect(run.result == .response(status: 200, body: Array(body.utf8)))
        run.expectSocketClosed()
    }

    @Test(arguments: [1, 3, 7])
    func assemblesAnAnswerSplitAcrossManySmallWrites(pieceSize: Int) throws {
        let body = Self.patroniBody
        let response = Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        let server = try HTTPTestServer { $0.sendInPieces(response, size: pieceSize) }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, timeout: .seconds(10))
        #expect(run.result == .response(status: 200, body: Array(body.utf8)))
        run.expectSocketClosed()
    }

    @Test(arguments: ["SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "\u{16}\u{03}\u{01}\u{02}\u{00}", "220 mail ESMTP ready\r\n"])
    func failsAtOnceOnGarbageInsteadOfAStatusLine(garbage: String) throws {
        // The server then stays silent: only the parser, not the timeout, can end this probe quickly.
        let server = try HTTPTestServer { connection in
            connection.send(garbage)
            connection.holdUntilClientCloses()
        }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, timeout: .seconds(20))
        guard case .failed(let reason) = try #require(run.result) else {
            Issue.record("garbage accepted as a response: \(String(describing: run.result))")
            return
        }
        #expect(reason.contains("malformed status line"), "\(reason)")
        #expect(run.elapsed < .seconds(10), "took \(run.elapsed): waited for the timeout")
        run.expectSocketClosed()
        #expect(eventually { server.clientCloses.load(ordering: .relaxed) == 1 })
    }

    @Test func timesOutWithinItsTimeoutWhenTheServerNeverAnswers() throws {
        let server = try HTTPTestServer { $0.holdUntilClientCloses() }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, timeout: .milliseconds(300))
        #expect(run.result == .failed("127.0.0.1:\(server.port): timed out after 300ms waiting for the answer (0 bytes received)"))
        #expect(run.elapsed >= .milliseconds(290))
        #expect(run.elapsed < .seconds(3), "took \(run.elapsed)")
        run.expectSocketClosed()
        #expect(eventually { server.clientCloses.load(ordering: .relaxed) == 1 })
    }

    @Test func keepsTheLoopServingOtherWorkWhileAProbeWaits() throws {
        let server = try HTTPTestServer { $0.holdUntilClientCloses() }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let outcome = Latest<HTTPProbeResult>()
        let loop = harness.loop
        let port = server.port
        loop.execute {
            _ = HTTPProbe(loop: loop, address: loopback(port), host: "h", path: "/patroni",
                          timeout: .seconds(5)) { outcome.set($0) }
        }
        #expect(eventually { server.requests.count == 1 })
        // A loop blocked in connect or read would not run these until the probe's timeout.
        for _ in 0..<5 {
            let started = ContinuousClock.now
            let turned = Latest<Bool>()
            loop.execute { turned.set(true) }
            #expect(eventually(seconds: 2) { turned.get() == true })
            #expect(ContinuousClock.now - started < .seconds(2))
        }
        #expect(outcome.get() == nil, "the probe finished before its timeout: \(String(describing: outcome.get()))")
    }

    @Test func reportsARefusedConnection() throws {
        let port = try freeLoopbackPort()
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: port, timeout: .seconds(5))
        #expect(run.result == .failed("connect to 127.0.0.1:\(port): Connection refused"))
        #expect(run.elapsed < .seconds(4))
        run.expectSocketClosed()
    }

    @Test func reportsAResetInTheMiddleOfTheAnswer() throws {
        let server = try HTTPTestServer { connection in
            connection.send("HTTP/1.1 200 OK\r\nContent-Len")
            // SO_LINGER 0: the close that follows sends RST instead of FIN.
            var value = linger(l_onoff: 1, l_linger: 0)
            setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
        }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port)
        guard case .failed(let reason) = try #require(run.result) else {
            Issue.record("a reset answer accepted: \(String(describing: run.result))")
            return
        }
        #expect(reason.contains("connection reset by 127.0.0.1:\(server.port)"), "\(reason)")
        run.expectSocketClosed()
    }

    @Test func failsABodyDeclaredOverTheLimitWithoutReadingIt() throws {
        let server = try HTTPTestServer { connection in
            connection.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            connection.holdUntilClientCloses()
        }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, bodyLimit: 1024)
        #expect(run.result == .failed("127.0.0.1:\(server.port): body of 1000000 bytes over the 1024-byte limit"))
        run.expectSocketClosed()
    }

    @Test func cutsOffAServerThatStreamsPastTheDefaultLimit() throws {
        // Close-delimited and endless: only the limit ends it (the send fails once the probe closes).
        let server = try HTTPTestServer { connection in
            connection.send("HTTP/1.0 200 OK\r\n\r\n")
            let block = [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024)
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline && !connection.server.isStopping {
                // `!`: `block` is not empty, so its buffer has an address.
                let n = block.withUnsafeBytes { Glibc.send(connection.fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
            }
        }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let run = harness.run(port: server.port, timeout: .seconds(20))
        #expect(run.result == .failed("127.0.0.1:\(server.port): body over the 65536-byte limit (delimited by close)"))
        #expect(run.elapsed < .seconds(10))
        run.expectSocketClosed()
    }

    @Test func cancelBeforeTheAnswerClosesTheSocketAndNeverCallsBack() throws {
        let server = try HTTPTestServer { $0.holdUntilClientCloses() }
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let loop = harness.loop
        let port = server.port
        let calls = Atomic<Int>(0)
        let probe = Latest<HTTPProbe>()
        let inode = Latest<String>()
        loop.execute {
            let started = HTTPProbe(loop: loop, address: loopback(port), host: "h",
                                    path: "/patroni", timeout: .milliseconds(200)) { _ in calls.add(1, ordering: .relaxed) }
            probe.set(started)
            if let socket = socketInode(of: started.descriptor) { inode.set(socket) }
        }
        #expect(eventually { server.requests.count == 1 })
        let socket = try #require(inode.get())
        // Cancel, then wait on the loop itself until well past the probe's timeout.
        let pastTimeout = Latest<Bool>()
        loop.execute {
            probe.get()?.cancel()
            loop.schedule(after: .milliseconds(500)) { pastTimeout.set(true) }
        }
        #expect(eventually { pastTimeout.get() == true })
        #expect(calls.load(ordering: .relaxed) == 0)
        #expect(!openSocketInodes().contains(socket), "the cancelled probe's socket \(socket) is still open")
        #expect(eventually { server.clientCloses.load(ordering: .relaxed) == 1 }, "the server never saw the probe close")
    }

    @Test func callsBackOnceEvenWhenItsTimeoutPassesAfterTheAnswer() throws {
        let server = try HTTPTestServer.answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        defer { server.stop() }
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let loop = harness.loop
        let port = server.port
        let calls = Atomic<Int>(0)
        let pastTimeout = Latest<Bool>()
        loop.execute {
            _ = HTTPProbe(loop: loop, address: loopback(port), host: "h", path: "/health",
                          timeout: .milliseconds(200)) { _ in
                calls.add(1, ordering: .relaxed)
                loop.schedule(after: .milliseconds(400)) { pastTimeout.set(true) }
            }
        }
        #expect(eventually { pastTimeout.get() == true })
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func neverCallsBackInsideInitEvenWhenItFailsAtOnce() throws {
        let harness = try ProbeHarness()
        defer { harness.stop() }
        let loop = harness.loop
        let duringInit = Atomic<Int>(0)
        let outcome = Latest<HTTPProbeResult>()
        loop.execute {
            let inInit = Latest<Bool>()
            inInit.set(true)
            // A request target with a newline would split the request: refused before any socket is opened.
            _ = HTTPProbe(loop: loop, address: loopback(9), host: "h", path: "/x\r\nEvil: 1",
                          timeout: .seconds(5)) { result in
                if inInit.get() == true { duringInit.add(1, ordering: .relaxed) }
                outcome.set(result)
            }
            inInit.set(false)
        }
        #expect(eventually { outcome.get() != nil })
        #expect(duringInit.load(ordering: .relaxed) == 0)
        #expect(outcome.get() == .failed(#"invalid request: path "/x\x0D\x0AEvil: 1""#))
    }

    @Test func leavesTheDescriptorCountWhereItWasAfterProbesOfEveryOutcome() throws {
        let ok = try HTTPTestServer.answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        defer { ok.stop() }
        let garbage = try HTTPTestServer.answering("garbage\r\n")
        defer { garbage.stop() }
        let silent = try HTTPTestServer { $0.holdUntilClientCloses(timeout: .seconds(2)) }
        defer { silent.stop() }
        let refused = try freeLoopbackPort()
        let harness = try ProbeHarness()
        defer { harness.stop() }
        // Warm up once per kind so lazily opened descriptors (none expected) are not counted as leaks.
        _ = harness.run(port: ok.port)
        let baseline = openDescriptorCount()
        // Eight probes of each outcome: a path that leaks leaks at least eight descriptors.
        for _ in 0..<8 {
            _ = harness.run(port: ok.port)
            _ = harness.run(port: garbage.port)
            _ = harness.run(port: refused)
            _ = harness.run(port: silent.port, timeout: .milliseconds(50))
        }
        // Other test suites may open a few descriptors meanwhile, hence the small allowance.
        #expect(eventually { openDescriptorCount() <= baseline + 4 }, "open: \(openDescriptorCount()), baseline \(baseline)")
    }
}

/// A one-loop group that runs probes and waits, bounded, for their outcome.
final class ProbeHarness {
    let group: EventLoopGroup
    var loop: EventLoop { group.loops[0] }

    init() throws {
        group = try EventLoopGroup(count: 1)
        group.start()
    }

    func stop() { group.stop() }

    /// What one probe did.
    struct Run {
        /// `nil` when it did not finish within its timeout plus 5 s.
        let result: HTTPProbeResult?
        /// Its socket's `socket:[inode]` while it ran.
        let socket: String?
        let elapsed: Duration
        let completedOnLoop: Bool

        /// The probe's own socket is closed (by inode: a reused descriptor number cannot fool it).
        func expectSocketClosed(sourceLocation: SourceLocation = #_sourceLocation) {
            guard let socket else {
                Issue.record("the probe had no socket", sourceLocation: sourceLocation)
                return
            }
            #expect(!openSocketInodes().contains(socket), "the probe's socket \(socket) is still open", sourceLocation: sourceLocation)
        }
    }

    func run(port: UInt16, host: String? = nil, path: String = "/patroni", timeout: Duration = .seconds(5),
             bodyLimit: Int = HTTPProbe.defaultBodyLimit) -> Run {
        let outcome = Latest<HTTPProbeResult>()
        let socket = Latest<String>()
        let onLoop = Latest<Bool>()
        let loop = self.loop
        let started = ContinuousClock.now
        loop.execute {
            let probe = HTTPProbe(loop: loop, address: loopback(port), host: host ?? "127.0.0.1:\(port)",
                                  path: path, timeout: timeout, bodyLimit: bodyLimit) { result in
                onLoop.set(loop.inLoop)
                outcome.set(result)
            }
            if let inode = socketInode(of: probe.descriptor) { socket.set(inode) }
        }
        let limit = Double(timeout.components.seconds) + 5
        _ = eventually(seconds: limit) { outcome.get() != nil }
        return Run(result: outcome.get(), socket: socket.get(), elapsed: ContinuousClock.now - started, completedOnLoop: onLoop.get() == true)
    }
}

/// The latest value some thread set, for another to wait on.
final class Latest<Value>: @unchecked Sendable {
    // @unchecked: the value lives inside the lock. A ConditionLock, not a Mutex: some values are
    // loop-bound classes (an HTTPProbe), which Mutex.withLock's `sending` signature refuses.
    private let value = ConditionLock<Value?>(nil)

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    func get() -> Value? { value.withLock { $0 } }
}

/// 127.0.0.1:`port` as a probe address.
func loopback(_ port: UInt16) -> SocketAddress {
    // `!`: the literal 127.0.0.1 always parses.
    SocketAddress(literal: "127.0.0.1", port: port)!
}
