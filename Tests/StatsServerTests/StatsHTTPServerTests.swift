import Glibc
import Logging
import PosixIO
import Reactor
import StatsServer
import SwitchmanCore
import Synchronization
import Testing

/// The stats server on a real event loop and loopback sockets: answers, survives garbage, drops
/// silent and trickling clients, and never hangs on a snapshot that does not come.
@Suite(.serialized)
struct StatsHTTPServerTests {
    private final class Running: Sendable {
        let group: EventLoopGroup
        let server: StatsHTTPServer
        let port: UInt16

        init(requestTimeout: Duration = .seconds(5), snapshotTimeout: Duration = .milliseconds(300), maxClients: Int = 256,
             snapshot: StatsSnapshot?) throws {
            group = try EventLoopGroup(count: 1)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let fixed = snapshot
            server = StatsHTTPServer(
                loop: group.loops[0], configuration: StatsRouteConfiguration(refresh: .seconds(2)), logger: logger,
                requestTimeout: requestTimeout, snapshotTimeout: snapshotTimeout, maxClients: maxClients
            ) { completion in
                // `nil` plays a stuck data plane: the snapshot never comes.
                if let fixed { completion(fixed) }
            }
            group.start()
            try server.start(bind: SocketAddress(literal: "127.0.0.1", port: 0)!)
            port = server.address!.port
        }

        func stop() {
            let done = Atomic<Bool>(false)
            group.loops[0].execute {
                self.server.stop()
                done.store(true, ordering: .releasing)
            }
            for _ in 0..<500 where !done.load(ordering: .acquiring) { usleep(2_000) }
            group.stop()
        }
    }

    private func exchange(_ port: UInt16, _ request: [UInt8]) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let address = SocketAddress(literal: "127.0.0.1", port: port)!
        guard address.withSockAddr({ connect(fd, $0, $1) }) == 0 else { throw IOError(errno: errno, call: "connect") }
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    @Test func answersEveryRouteFromTheSnapshot() throws {
        let running = try Running(snapshot: StatsFixtures.cluster)
        defer { running.stop() }
        let page = try exchange(running.port, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(page.hasPrefix("HTTP/1.1 200"))
        #expect(page.contains("</html>"))
        let json = try exchange(running.port, Array("GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(json.contains("\"schema_version\""))
        let missing = try exchange(running.port, Array("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(missing.hasPrefix("HTTP/1.1 404"))
    }

    @Test func garbageGetsAnErrorAndTheServerKeepsServing() throws {
        let running = try Running(snapshot: StatsFixtures.cluster)
        defer { running.stop() }
        var seed: UInt64 = 42
        for round in 0..<20 {
            var junk = [UInt8](repeating: 0, count: 1 + round * 97)
            for i in junk.indices {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                junk[i] = UInt8(truncatingIfNeeded: seed >> 33)
            }
            junk += Array("\r\n\r\n".utf8)
            let answer = try exchange(running.port, junk)
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 4") || answer.hasPrefix("HTTP/1.1 5"))
        }
        let huge = try exchange(running.port, Array("GET / HTTP/1.1\r\nX: \(String(repeating: "a", count: 20_000))\r\n\r\n".utf8))
        #expect(huge.hasPrefix("HTTP/1.1 431") || huge.hasPrefix("HTTP/1.1 400"))
        #expect(try exchange(running.port, Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).hasPrefix("HTTP/1.1"))
    }

    @Test func aSilentClientIsDroppedAfterTheRequestTimeout() throws {
        let running = try Running(requestTimeout: .milliseconds(300), snapshot: StatsFixtures.cluster)
        defer { running.stop() }
        let start = SystemClock.monotonicNanoseconds()
        let answer = try exchange(running.port, Array("GET / HT".utf8))  // never finishes its request
        let waited = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
        #expect(answer.isEmpty)
        #expect(waited >= 0.25 && waited < 9)
    }

    @Test func aClientBeyondMaxClientsTakesThePlaceOfTheOldestOneStillWaitingForItsRequest() throws {
        let running = try Running(maxClients: 4, snapshot: StatsFixtures.cluster)
        defer { running.stop() }
        // Four slowloris clients fill the server; each sent part of a request and then nothing.
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var tv = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let address = SocketAddress(literal: "127.0.0.1", port: running.port)!
            guard address.withSockAddr({ connect(fd, $0, $1) }) == 0 else { throw IOError(errno: errno, call: "connect") }
            _ = Array("GET /he".utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            idle.append(fd)
            usleep(20_000)
        }
        // A health check still gets its answer, at once, and the oldest slowloris is the one dropped.
        #expect(try exchange(running.port, Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 200"))
        var byte: UInt8 = 0
        #expect(read(idle[0], &byte, 1) == 0)
    }

    /// CPU seconds the thread of `loop` has used so far.
    private func cpuClock(of loop: EventLoop) -> clockid_t? {
        let clock = Mutex<clockid_t?>(nil)
        loop.execute {
            var id = clockid_t()
            if pthread_getcpuclockid(pthread_self(), &id) == 0 { clock.withLock { $0 = id } }
        }
        for _ in 0..<500 where clock.withLock({ $0 == nil }) { usleep(2_000) }
        return clock.withLock { $0 }
    }

    private func cpuSeconds(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    @Test func aClientThatHalfClosesWhileItsSnapshotIsAwaitedDoesNotSpinTheLoopAndStillGetsItsAnswer() throws {
        let running = try Running(snapshotTimeout: .seconds(2), snapshot: nil)
        defer { running.stop() }
        let clock = try #require(cpuClock(of: running.group.loops[0]))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let address = SocketAddress(literal: "127.0.0.1", port: running.port)!
        try #require(address.withSockAddr({ connect(fd, $0, $1) }) == 0)
        let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        // RDHUP from now on, while the server waits 2 s for a snapshot that never comes.
        shutdown(fd, Int32(SHUT_WR))
        let before = cpuSeconds(clock)
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        let used = cpuSeconds(clock) - before
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 503"))
        // A loop woken on every turn burns most of the 2 s (a share of it on a busy machine);
        // one that waits uses milliseconds.
        #expect(used < 0.15, "the loop thread used \(used) s of CPU while waiting")
    }

    @Test func aSnapshotThatNeverComesGives503InsteadOfHanging() throws {
        let running = try Running(snapshot: nil)
        defer { running.stop() }
        let answer = try exchange(running.port, Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(answer.hasPrefix("HTTP/1.1 503"))
    }
}
