import Foundation
import Glibc
import Testing

extension SwitchmanFaultTests {
    @Test func descriptorExhaustionLogsOncePausesAcceptingWithoutSpinningKeepsStatsAnsweringAndServesAgainOnceDescriptorsFree() throws {
        raiseOpenFileLimit(to: 4096)
        let echo = try LoopbackEchoServer()
        defer { echo.stop() }
        let (proxy, statsPort) = try StaticSwitchman.inFrontOf(echo, openFileLimit: 256)
        defer { proxy.stop() }
        let port = Int(try proxy.waitForListener("raw"))

        // 1,000 clients: the kernel completes every handshake (backlog); Switchman runs out first.
        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        for _ in 0..<1000 {
            let fd = FaultSocket.connectNonBlocking(port)
            if fd >= 0 { clients.append(fd) }
        }
        #expect(clients.count == 1000)
        let filled = waitFor(seconds: 20) { ProcessProbe.openDescriptors(proxy.pid) >= 240 }
        #expect(filled, "Switchman holds \(ProcessProbe.openDescriptors(proxy.pid)) descriptors")
        usleep(500_000)

        // Out of descriptors: a spinning loop would burn a core (1 s per second), and the stats
        // port must still answer, request after request.
        let cpuBefore = ProcessProbe.cpuSeconds(proxy.pid)
        var statsAnswers: [String] = []
        for _ in 0..<3 {
            statsAnswers.append((try? FaultSocket.httpStatusLine(statsPort, "/health", timeoutSeconds: 5)) ?? "no answer")
        }
        usleep(2_000_000)
        // A few sessions end (their clients leave) while the backlog is still full: each frees
        // descriptors that the next waiting client takes, and the shortage goes on.
        for fd in clients.prefix(20) { close(fd) }
        clients.removeFirst(20)
        usleep(1_000_000)
        let cpuUsed = ProcessProbe.cpuSeconds(proxy.pid) - cpuBefore
        let descriptors = ProcessProbe.openDescriptors(proxy.pid)
        #expect(cpuUsed < 0.6, "Switchman used \(cpuUsed) s of CPU in ~3 s while out of descriptors")
        #expect(statsAnswers.allSatisfy { $0.contains(" 200 ") }, "stats /health answered \(statsAnswers)")
        let shortageLines = proxy.log.split(separator: "\n").filter { $0.contains("accept failed") }
        // Once per shortage for each listening socket: one per event loop, and the stats server's.
        #expect(!shortageLines.isEmpty && shortageLines.count <= 3, "shortage logged \(shortageLines.count) times:\n\(shortageLines.prefix(10).joined(separator: "\n"))")

        // Descriptors free up: every waiting client leaves; a new one is served.
        clients.forEach { close($0) }
        clients = []
        #expect(waitFor(seconds: 20) { echo.open.load(ordering: .relaxed) == 0 })
        let fresh = try FaultSocket.connect(port)
        defer { close(fresh) }
        try FaultSocket.writeAll(fresh, Array("after the shortage".utf8))
        #expect(try FaultSocket.readExactly(fresh, 18) == Array("after the shortage".utf8))
        print("[fault] ulimit -n 256, 1000 clients: \(descriptors) descriptors held, \(String(format: "%.2f", cpuUsed)) s CPU in ~3 s, stats: \(statsAnswers), shortage logged \(shortageLines.count)x")
    }
}
