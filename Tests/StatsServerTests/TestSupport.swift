import Foundation
import Synchronization

/// Helpers shared by the tests: the repository root and running a command-line tool.
enum TestSupport {
    /// The repository root (this file is `Tests/StatsServerTests/TestSupport.swift`).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The full path of `name` found on `PATH`, if any.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether the environment variable `name` is `1`.
    static func flag(_ name: String) -> Bool { ProcessInfo.processInfo.environment[name] == "1" }

    /// Runs `executable` with `arguments`, feeding `input` on stdin; returns status, stdout, stderr.
    ///
    /// Through files, not pipes: other tests of this process start long-lived children (ZooKeeper,
    /// Patroni) concurrently, and a pipe end they inherit would keep the tool waiting for an end of
    /// file that never comes. Bounded by `timeout`: the tool is killed past it.
    static func run(_ executable: String, _ arguments: [String], input: String, timeout: Double = 60) throws -> (status: Int32, out: String, err: String) {
        let base = NSTemporaryDirectory() + "switchman-tool-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let inPath = base + ".in", outPath = base + ".out", errPath = base + ".err"
        defer { for path in [inPath, outPath, errPath] { try? FileManager.default.removeItem(atPath: path) } }
        try input.write(toFile: inPath, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // Also once it has exited: until then Foundation's Process and its run-loop source keep each
        // other alive (LeakSanitizer reports both).
        process.waitUntilExit()
        let out = textOfFile(outPath)
        let err = textOfFile(errPath)
        return (process.terminationStatus, out, err)
    }
}

/// The text of the file at `path` ("" when unreadable). Read through FileHandle: this toolchain's
/// `String(contentsOfFile:)` leaks 4 KiB for each empty file (LeakSanitizer shows it under
/// `swift test --sanitize=address`), and the outputs read here are often empty.
func textOfFile(_ path: String) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? handle.close() }
    return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
}

/// A `Data` shared between a reader thread and the test.
final class LockedData: Sendable {
    private let data = Mutex(Data())
    func set(_ d: Data) { data.withLock { $0 = d } }
    func get() -> Data { data.withLock { $0 } }
}
