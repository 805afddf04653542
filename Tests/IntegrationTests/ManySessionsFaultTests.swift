import Foundation
import Glibc
import Testing

extension SwitchmanFaultTests {
    @Test func eightThousandConcurrentSessionsMovingDataLeaveDescriptorsAtBaselineAndResidentMemoryWithinTenPercent() throws {
        let sessions = 8000
        // This process holds both ends of every session outside Switchman: 2 descriptors each.
        let limit = raiseOpenFileLimit(to: 2 * sessions + 1000)
        try #require(limit >= 2 * sessions + 500, "RLIMIT_NOFILE cannot be raised to \(2 * sessions + 500) here (hard limit \(limit))")
        let echo = try LoopbackEchoServer()
        defer { echo.stop() }
        let (proxy, _) = try StaticSwitchman.inFrontOf(echo, globalMaxconn: 10000, openFileLimit: 2 * sessions + 1000)
        defer { proxy.stop() }
        let port = Int(try proxy.waitForListener("raw"))
        let baselineDescriptors = ProcessProbe.openDescriptors(proxy.pid)
        let baselineResident = ProcessProbe.residentBytes(proxy.pid)

        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        let started = Date()
        for _ in 0..<sessions { clients.append(try FaultSocket.connect(port, timeoutSeconds: 30)) }
        // Every session moves 2 KB each way, all in flight at once.
        for (index, fd) in clients.enumerated() { try FaultSocket.writeAll(fd, message(index)) }
        for (index, fd) in clients.enumerated() { #expect(try FaultSocket.readExactly(fd, 2048) == message(index)) }
        let peakDescriptors = ProcessProbe.openDescriptors(proxy.pid)
        let peakResident = ProcessProbe.residentBytes(proxy.pid)
        #expect(echo.open.load(ordering: .relaxed) == sessions)
        clients.forEach { close($0) }
        clients = []
        let moved = Date().timeIntervalSince(started)

        let descriptorsBack = waitFor(seconds: 30) { ProcessProbe.openDescriptors(proxy.pid) <= baselineDescriptors }
        #expect(descriptorsBack, "\(ProcessProbe.openDescriptors(proxy.pid)) descriptors open, baseline \(baselineDescriptors)")
        // Freed memory goes back to the kernel a moment after the burst (the worker trims the heap).
        let withinTenPercent = waitFor(seconds: 10) { Double(ProcessProbe.residentBytes(proxy.pid)) <= Double(baselineResident) * 1.10 }
        let afterResident = ProcessProbe.residentBytes(proxy.pid)
        #expect(withinTenPercent, "RSS \(afterResident >> 10) KB after, baseline \(baselineResident >> 10) KB")
        print("[fault] \(sessions) concurrent sessions in \(String(format: "%.1f", moved)) s: descriptors \(baselineDescriptors) → \(peakDescriptors) → \(ProcessProbe.openDescriptors(proxy.pid)); RSS \(baselineResident >> 10) KB → \(peakResident >> 10) KB → \(afterResident >> 10) KB")
    }

    /// 2 KB unique to session `index`.
    private func message(_ index: Int) -> [UInt8] {
        (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ index &* 7) }
    }
}
