import Foundation
import Glibc
import Logging
import PosixIO
import Reactor
import Testing
@testable import switchman

/// Reads what arrived on `fd` (non-blocking) until `lines` newlines came or 10 s passed.
private func readLines(_ fd: Int32, _ lines: Int) -> [String] {
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
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
}

/// A pipe whose ends this test owns: `[read, write]`.
private func makePipe() throws -> [Int32] {
    var fds: [Int32] = [-1, -1]
    try #require(pipe(&fds) == 0)
    return fds
}

/// Logs 5,000 lines of ~100 bytes (500 KB, 8 times a pipe's buffer) with stderr on a pipe nobody
/// reads, in a child process, and exits 0; a watchdog exits 3 after 60 s (a thread stuck in
/// write(2) on the full pipe never gets there).
private func logIntoAStalledStderr(json: Bool) -> Never {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0, dup2(fds[1], 2) == 2 else { _exit(2) }
    LoggingSetup.bootstrap(format: json ? .json : .text, level: .info)
    DetachedThread.spawn(name: "watchdog") {
        sleep(60)
        _exit(3)
    }
    let logger = Logger(label: "switchman.test")
    let padding = String(repeating: "x", count: 60)
    for index in 0..<5_000 { logger.warning("line \(index) \(padding)", metadata: ["listener": "raw"]) }
    _exit(0)
}

struct LoggingSetupTests {
    @Test func aStalledStderrReaderDoesNotBlockAThreadLoggingText() async {
        await #expect(processExitsWith: .exitCode(0)) { logIntoAStalledStderr(json: false) }
    }

    @Test func aStalledStderrReaderDoesNotBlockAThreadLoggingJSON() async {
        await #expect(processExitsWith: .exitCode(0)) { logIntoAStalledStderr(json: true) }
    }

    @Test func linesAStalledReaderCannotTakeAreDroppedAndCounted() throws {
        let fds = try makePipe()
        defer { close(fds[0]); close(fds[1]) }
        let writer = LogWriter(fd: fds[1], maxPending: 16 * 1024)
        let logger = Logger(label: "t", factory: LoggingSetup.makeHandlerFactory(format: .text, level: .info, writer: writer))
        for index in 0..<5_000 { logger.info("line \(index) \(String(repeating: "y", count: 80))") }
        let dropped = writer.droppedLines
        #expect(dropped > 0)
        // Every line not counted as dropped arrives whole once someone reads.
        let lines = readLines(fds[0], 5_000 - dropped)
        #expect(lines.count == 5_000 - dropped)
        #expect(lines.allSatisfy { $0.hasSuffix(String(repeating: "y", count: 80)) })
        #expect(writer.close(timeout: .seconds(10)))
    }

    @Test func textLinesKeepSwiftLogsFormat() throws {
        let fds = try makePipe()
        defer { close(fds[0]); close(fds[1]) }
        let writer = LogWriter(fd: fds[1])
        var logger = Logger(label: "switchman.test", factory: LoggingSetup.makeHandlerFactory(format: .text, level: .info, writer: writer))
        logger[metadataKey: "listener"] = "raw"
        logger.debug("not shown")
        logger.warning("hello")
        #expect(writer.flush(timeout: .seconds(10)))
        let lines = readLines(fds[0], 1)
        try #require(lines.count == 1)
        let pattern = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} warning switchman.test: listener=raw \[SwitchmanTests\] hello$/#
        #expect(lines[0].wholeMatch(of: pattern) != nil, "\(lines[0])")
        #expect(writer.close(timeout: .seconds(10)))
    }

    @Test func jsonLinesCarryTimeLevelLabelMessageAndMetadata() throws {
        let fds = try makePipe()
        defer { close(fds[0]); close(fds[1]) }
        let writer = LogWriter(fd: fds[1])
        var logger = Logger(label: "switchman.test", factory: LoggingSetup.makeHandlerFactory(format: .json, level: .info, writer: writer))
        logger[metadataKey: "listener"] = "raw"
        let before = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        logger.error("say \"hi\"\nté", metadata: ["session": "7"])
        let after = Date()
        #expect(writer.flush(timeout: .seconds(10)))
        let lines = readLines(fds[0], 1)
        try #require(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(object["level"] == "error" && object["label"] == "switchman.test" && object["msg"] == "say \"hi\"\nté")
        #expect(object["listener"] == "raw" && object["session"] == "7")
        let time = try #require(object["ts"].flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(time >= before && time <= after)
        #expect(writer.close(timeout: .seconds(10)))
    }

    @Test func everyJSONLoggerSharesOneEncoderAndItsDateFormatter() throws {
        let writer = LogWriter(fd: 2)
        defer { writer.close(timeout: .seconds(10)) }
        let factory = LoggingSetup.makeHandlerFactory(format: .json, level: .info, writer: writer)
        let first = try #require(factory("a") as? JSONLogHandler)
        let second = try #require(factory("b") as? JSONLogHandler)
        #expect(first.encoder === second.encoder)
    }

    @Test func theEncoderWritesTimestampsAsFoundationsISO8601FormatterDoes() {
        let encoder = JSONLineEncoder()
        let reference = ISO8601DateFormatter()
        for seconds in [0.0, 1.5, 951_782_400.999, 1_700_000_000.25, 1_700_000_000.75, 1_700_000_001] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(encoder.timestamp(date) == reference.string(from: date))
        }
    }
}
