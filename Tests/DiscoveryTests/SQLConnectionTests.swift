import Glibc
import PosixIO
import Reactor
import SwitchmanCore
import Synchronization
import Testing
@testable import Discovery

/// The member check's kept-open connection on a loop: a node that accepts TCP and never answers is
/// given up at the timeout without delaying anything else on the loop.
struct SQLConnectionTests {
    private let credentials = SQLCheckConfiguration(user: "switchman", timeout: .milliseconds(500))

    /// A listening socket on 127.0.0.1 that accepts (the kernel does, from its backlog) and never answers.
    private func silentListener() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 16)
        return (fd, try Socket.localAddress(fd).port)
    }

    /// Runs `body` with a started loop and a silent node on `port`.
    private func withSilentNode(_ body: (EventLoop, Int32, UInt16) throws -> Void) throws {
        let (listener, port) = try silentListener()
        defer { close(listener) }
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        try body(group.loops[0], listener, port)
    }

    @Test func aNodeThatNeverAnswersFailsAtTheTimeoutWhileTheLoopKeepsServingOthers() throws {
        try withSilentNode { loop, _, port in
        let outcome = Mutex<(result: SQLProbeResult?, elapsed: Double, ticks: Int)>((nil, 0, 0))
        let target = try #require(SocketAddress(literal: "127.0.0.1", port: port))
        let credentials = self.credentials
        let started = SystemClock.monotonicNanoseconds()
        loop.execute {
            let connection = SQLConnection(loop: loop, endpoint: Endpoint(host: "127.0.0.1", port: port), address: target, credentials: credentials)
            connection.run("select 1", timeout: credentials.timeout) { result in
                _ = connection  // kept until it answers
                outcome.withLock { $0.result = result; $0.elapsed = Double(SystemClock.monotonicNanoseconds() - started) / 1e9 }
            }
            // Meanwhile the loop turns: a timer every 20 ms keeps firing.
            func tick() {
                _ = loop.schedule(after: .milliseconds(20)) {
                    let done = outcome.withLock { $0.ticks += 1; return $0.result != nil }
                    if !done { tick() }
                }
            }
            tick()
        }
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        while outcome.withLock({ $0.result == nil }) && SystemClock.monotonicNanoseconds() < deadline { usleep(10_000) }
        let (result, elapsed, ticks) = outcome.withLock { $0 }
        guard case .failed(let reason) = try #require(result) else {
            Issue.record("a silent node answered: \(String(describing: result))")
            return
        }
        #expect(reason == "no answer within 500ms")
        #expect(elapsed >= 0.45 && elapsed < 5, "gave up after \(elapsed) s")
        #expect(ticks >= 5, "the loop turned only \(ticks) times while the check waited")
        }
    }

    @Test func aRunAfterATimeoutConnectsAfreshInsteadOfWaitingOnTheDeadConnection() throws {
        try withSilentNode { loop, listener, port in
        let results = Mutex<[SQLProbeResult]>([])
        let target = try #require(SocketAddress(literal: "127.0.0.1", port: port))
        let credentials = self.credentials
        let holder = Mutex<SQLConnection?>(nil)
        loop.execute {
            let connection = SQLConnection(loop: loop, endpoint: Endpoint(host: "127.0.0.1", port: port), address: target, credentials: credentials)
            holder.withLock { $0 = connection }
            connection.run("select 1", timeout: credentials.timeout) { first in
                results.withLock { $0.append(first) }
                connection.run("select 1", timeout: credentials.timeout) { second in results.withLock { $0.append(second) } }
            }
        }
        let deadline = SystemClock.monotonicNanoseconds() + 20_000_000_000
        while results.withLock({ $0.count < 2 }) && SystemClock.monotonicNanoseconds() < deadline { usleep(10_000) }
        #expect(results.withLock { $0 } == [.failed("no answer within 500ms"), .failed("no answer within 500ms")])
        // Two connections reached the listener's backlog: the second run opened its own.
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        var accepted: [Int32] = []
        while accepted.count < 4 {
            let fd = accept(listener, nil, nil)
            if fd < 0 { break }
            accepted.append(fd)
        }
        accepted.forEach { close($0) }
        #expect(accepted.count == 2, "\(accepted.count) connections reached the node")
        loop.execute { holder.withLock { $0?.close(); $0 = nil } }
        }
    }
}
