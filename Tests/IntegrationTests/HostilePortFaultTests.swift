import Foundation
import Glibc
import Synchronization
import Testing

extension SwitchmanFaultTests {
    @Test func garbageHalfOpenAndSlowlorisClientsOnTheStatsAndDataPortsNeitherCrashSwitchmanNorSlowOtherClients() throws {
        raiseOpenFileLimit(to: 4096)
        let echo = try LoopbackEchoServer()
        defer { echo.stop() }
        let (proxy, statsPort) = try StaticSwitchman.inFrontOf(echo)
        defer { proxy.stop() }
        let dataPort = Int(try proxy.waitForListener("raw"))

        let quiet = try latencies(dataPort: dataPort, statsPort: statsPort, rounds: 5)
        // More silent and trickling clients on the stats port than it serves at once (256).
        let hostile = try HostileConnections(ports: [statsPort, dataPort], perKind: 200)
        defer { hostile.stop() }
        usleep(300_000)
        let underAttack = try latencies(dataPort: dataPort, statsPort: statsPort, rounds: 10, pauseMicroseconds: 150_000)
        hostile.stop()
        #expect(Spawn.poll(proxy.pid) == nil, "Switchman exited; log:\n\(proxy.log.suffix(2000))")
        #expect(underAttack.stats.max()! < 1.0, "stats answers took up to \(underAttack.stats.max()!) s with \(hostile.count) hostile clients")
        #expect(underAttack.data.max()! < 1.0, "echo round trips took up to \(underAttack.data.max()!) s with \(hostile.count) hostile clients")
        #expect(try FaultSocket.httpStatusLine(statsPort, "/health").contains(" 200 "))
        print("[fault] stats and data port, \(hostile.count) hostile clients: /health max \(ms(quiet.stats.max()!)) ms quiet, \(ms(underAttack.stats.max()!)) ms under attack; echo max \(ms(quiet.data.max()!)) → \(ms(underAttack.data.max()!)) ms")
    }

    /// Seconds for `/health` on the stats port and for connect + 1 KB echo on the data port.
    private func latencies(dataPort: Int, statsPort: Int, rounds: Int, pauseMicroseconds: UInt32 = 0) throws -> (stats: [Double], data: [Double]) {
        var stats: [Double] = []
        var data: [Double] = []
        let payload = [UInt8](repeating: 0x5a, count: 1024)
        for _ in 0..<rounds {
            usleep(pauseMicroseconds)
            var start = Date()
            let status = try FaultSocket.httpStatusLine(statsPort, "/health", timeoutSeconds: 8)
            stats.append(Date().timeIntervalSince(start))
            #expect(status.contains(" 200 "), "\(status)")
            start = Date()
            let fd = try FaultSocket.connect(dataPort, timeoutSeconds: 8)
            defer { close(fd) }
            try FaultSocket.writeAll(fd, payload)
            #expect(try FaultSocket.readExactly(fd, payload.count) == payload)
            data.append(Date().timeIntervalSince(start))
        }
        return (stats, data)
    }

    private func ms(_ seconds: Double) -> Int { Int((seconds * 1000).rounded()) }
}

/// Bad clients held open on each of `ports`, `perKind` of each kind: garbage (random bytes, then
/// silence), silent (connect, nothing), half-closed (the start of a request, then FIN), and
/// slowloris (an HTTP request one byte every 100 ms, from a thread of its own).
final class HostileConnections: Sendable {
    private let descriptors: Mutex<[Int32]>
    private let slow: [Int32]
    private let stopped = Atomic<Bool>(false)
    private let trickleDone = Atomic<Bool>(false)
    let count: Int

    init(ports: [Int], perKind: Int) throws {
        var all: [Int32] = []
        var slow: [Int32] = []
        for port in ports {
            for index in 0..<perKind {
                let garbage = try FaultSocket.connect(port)
                try FaultSocket.writeAll(garbage, (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ index) })
                let silent = try FaultSocket.connect(port)
                let halfClosed = try FaultSocket.connect(port)
                try FaultSocket.writeAll(halfClosed, Array("GET /sta".utf8))
                shutdown(halfClosed, Int32(SHUT_WR))
                let trickling = try FaultSocket.connect(port)
                all += [garbage, silent, halfClosed, trickling]
                slow.append(trickling)
            }
        }
        descriptors = Mutex(all)
        self.slow = slow
        count = all.count
        let thread = Thread { [self] in
            let request = Array("GET /stats.json HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n".utf8)
            var offset = 0
            while !stopped.load(ordering: .acquiring) && offset < request.count {
                for fd in self.slow { _ = request.withUnsafeBytes { send(fd, $0.baseAddress! + offset, 1, Int32(MSG_NOSIGNAL)) } }
                offset += 1
                usleep(100_000)
            }
            trickleDone.store(true, ordering: .releasing)
        }
        thread.start()
    }

    /// Stops the trickle and closes every bad client (idempotent).
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for _ in 0..<250 where !trickleDone.load(ordering: .acquiring) { usleep(20_000) }
        descriptors.withLock { fds in
            fds.forEach { close($0) }
            fds = []
        }
    }
}
