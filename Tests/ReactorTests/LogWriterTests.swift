import Glibc
import PosixIO
import Synchronization
import Testing
@testable import Reactor

/// A pipe whose ends the test owns: `[read, write]`.
private func makePipe() throws -> [Int32] {
    var fds: [Int32] = [-1, -1]
    try #require(pipe(&fds) == 0)
    return fds
}

/// Reads until `lines` newlines arrived or 10 s passed.
private func readLines(_ fd: Int32, _ lines: Int) -> [Substring] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
    while bytes.reduce(0, { $1 == 10 ? $0 + 1 : $0 }) < lines && SystemClock.monotonicNanoseconds() < deadline {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 100) > 0 else { continue }
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
}

struct LogWriterTests {
    @Test func appendingWhileTheReaderIsStalledNeverWaitsAndDropsAreCounted() throws {
        let fds = try makePipe()
        defer { close(fds[0]); close(fds[1]) }
        let writer = LogWriter(fd: fds[1], maxPending: 64 * 1024)
        // 2 MB into a 64 KiB pipe nobody reads, plus 64 KiB of queue: most lines cannot go anywhere.
        var slowest: UInt64 = 0
        let line = String(repeating: "z", count: 99)
        let start = SystemClock.monotonicNanoseconds()
        for _ in 0..<20_000 {
            let before = SystemClock.monotonicNanoseconds()
            writer.append(line)
            slowest = max(slowest, SystemClock.monotonicNanoseconds() - before)
        }
        let total = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
        // Generous bounds (a busy machine may deschedule the thread); a blocked write never returns.
        #expect(total < 5, "20,000 appends took \(total) s")
        #expect(slowest < 1_000_000_000, "one append took \(Double(slowest) / 1e9) s")
        let dropped = writer.droppedLines
        #expect(dropped > 10_000)
        // Nothing accepted is lost: once read, every line not counted as dropped arrives whole.
        let lines = readLines(fds[0], 20_000 - dropped)
        #expect(lines.count == 20_000 - dropped)
        #expect(lines.allSatisfy { $0 == line })
        #expect(writer.close(timeout: .seconds(10)))
    }

    @Test func flushGivesUpAtItsTimeoutOnAStalledReaderAndSucceedsOnceItReads() throws {
        let fds = try makePipe()
        defer { close(fds[0]); close(fds[1]) }
        let writer = LogWriter(fd: fds[1], maxPending: 1 << 20, batchDelay: .seconds(60))
        let line = String(repeating: "f", count: 999)
        for _ in 0..<200 { writer.append(line) }  // 200 KB: more than the pipe holds
        let start = SystemClock.monotonicNanoseconds()
        #expect(!writer.flush(timeout: .milliseconds(200)))
        #expect(SystemClock.monotonicNanoseconds() - start < 5_000_000_000)
        let reader = Atomic<Int>(0)
        DetachedThread.spawn(name: "test-reader") { reader.store(readLines(fds[0], 200).count, ordering: .releasing) }
        // The batch delay is a minute: a flush does not wait for it.
        #expect(writer.flush(timeout: .seconds(10)))
        #expect(writer.droppedLines == 0)
        #expect(writer.close(timeout: .seconds(10)))
        for _ in 0..<1000 where reader.load(ordering: .acquiring) == 0 { usleep(10_000) }
        #expect(reader.load(ordering: .acquiring) == 200)
    }

    @Test func aFailingDescriptorCountsItsLinesAsDroppedInsteadOfTrapping() throws {
        let fds = try makePipe()
        close(fds[0])  // no reader at all: EPIPE (SIGPIPE is ignored below)
        defer { close(fds[1]) }
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let writer = LogWriter(fd: fds[1])
        writer.append("one")
        writer.append("two")
        #expect(writer.flush(timeout: .seconds(10)))
        #expect(writer.droppedLines == 2)
        #expect(writer.close(timeout: .seconds(10)))
        writer.append("after close")
        #expect(writer.droppedLines == 3)
    }
}
