import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway ZooKeeper server on 127.0.0.1 (Debian's `zookeeper` package), for tests.
///
/// Data lives in a temporary directory kept across `stop()`/`start()`, so sessions survive a restart
/// the way they do in production. Set `ZOOKEEPER_CLASSPATH` to use jars from elsewhere.
final class ZooKeeperServer: @unchecked Sendable {
    /// The client port (free when chosen).
    let port: UInt16
    /// ZooKeeper's tick; the server allows session timeouts of 2 to 20 ticks.
    let tickTime: Int
    private let directory: URL
    private var process: Process?

    init(tickTime: Int = 200) throws {
        self.port = try freeLoopbackPort()
        self.tickTime = tickTime
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-zk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        let config = """
            tickTime=\(tickTime)
            dataDir=\(directory.appendingPathComponent("data").path)
            clientPort=\(port)
            clientPortAddress=127.0.0.1
            admin.enableServer=false
            4lw.commands.whitelist=ruok,srvr,stat,mntr
            maxClientCnxns=100
            """
        try config.write(to: directory.appendingPathComponent("zoo.cfg"), atomically: true, encoding: .utf8)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Launches the JVM and waits (bounded) until the server answers `ruok` with `imok`.
    func start(timeout: Duration = .seconds(30)) throws {
        precondition(process == nil, "already running")
        let classpath = ProcessInfo.processInfo.environment["ZOOKEEPER_CLASSPATH"]
            ?? "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
            "org.apache.zookeeper.server.ZooKeeperServerMain", directory.appendingPathComponent("zoo.cfg").path,
        ]
        let logURL = directory.appendingPathComponent("zk.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { break }
            if fourLetterWord("ruok") == "imok" { return }
            usleep(50_000)
        }
        let tail = (try? String(contentsOf: logURL, encoding: .utf8))?.suffix(2000) ?? ""
        stop()
        throw TestFailure("ZooKeeper on port \(port) did not answer ruok within \(timeout); log tail:\n\(tail)")
    }

    /// Kills the server (SIGKILL: like a crash; its data directory survives).
    func stop() {
        guard let process else { return }
        self.process = nil
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Sends a four-letter command and returns the answer (empty when it cannot connect).
    func fourLetterWord(_ word: String) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connectLoopback(fd, port: port) else { return "" }
        _ = word.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}

/// A test precondition that failed, with its explanation.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port on 127.0.0.1 that is free, below the ephemeral range so that no bind to port 0
/// takes it before its user binds it (``loopbackPortBelowTheEphemeralRange()``).
func freeLoopbackPort() throws -> UInt16 { try loopbackPortBelowTheEphemeralRange() }

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// Blocking connect to 127.0.0.1:port.
func connectLoopback(_ fd: Int32, port: UInt16) -> Bool {
    var address = loopbackAddress(port: port)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
