import CLibPQ
import Foundation
import Glibc
import Synchronization

/// Where the repository is (this file is Tests/IntegrationTests/Support/CoreFixtures.swift).
enum RepositoryRoot {
    static let path: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()
}

/// A failure of the test scaffolding, with what went wrong.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command (posix_spawn, output to a temporary file), waits for it (bounded), returns its
/// output; throws when it fails. Children it leaves running (a postmaster) keep no pipe of ours open.
@discardableResult
func runCommand(_ arguments: [String], timeoutSeconds: Double = 300) throws -> String {
    let outputPath = "/tmp/switchman-it-cmd-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
    defer { unlink(outputPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
    guard rc == 0 else { throw FixtureError("posix_spawn \(arguments[0]): \(rc)") }
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            throw FixtureError("\(arguments.joined(separator: " ")) timed out after \(timeoutSeconds) s")
        }
        usleep(20_000)
    }
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exited = (status & 0x7f) == 0
    let code = (status >> 8) & 0xff
    guard exited && code == 0 else {
        throw FixtureError("\(arguments.joined(separator: " ")) failed (status \(status)):\n\(text)")
    }
    return text
}

/// Free loopback ports (bound to port 0 and released; good enough for a test run).
enum PortProbe {
    static func free() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// One plain PostgreSQL 15 for the whole test process, started by scripts/single-postgres.sh and
/// stopped at exit.
final class SinglePostgresFixture: Sendable {
    let directory: String
    let port: UInt16
    let password: String

    private static let instance = Mutex<SinglePostgresFixture?>(nil)

    static func shared() throws -> SinglePostgresFixture {
        try instance.withLock { current in
            if let current { return current }
            guard geteuid() == 0 else {
                throw FixtureError("the PostgreSQL integration tests start PostgreSQL as user postgres and need root")
            }
            let directory = "/tmp/switchman-it-pg-\(getpid())"
            try runCommand(["\(RepositoryRoot.path)/scripts/single-postgres.sh", "start", directory], timeoutSeconds: 120)
            let env = try Self.readEnv("\(directory)/pg.env")
            guard let port = env["PG_PORT"].flatMap(UInt16.init) else { throw FixtureError("pg.env has no PG_PORT") }
            let fixture = SinglePostgresFixture(directory: directory, port: port, password: env["PGPASSWORD"] ?? "postgres")
            atexit { SinglePostgresFixture.stopShared() }
            current = fixture
            return fixture
        }
    }

    private init(directory: String, port: UInt16, password: String) {
        self.directory = directory
        self.port = port
        self.password = password
    }

    private static func stopShared() {
        guard let fixture = instance.withLock({ $0 }) else { return }
        _ = try? runCommand(["\(RepositoryRoot.path)/scripts/single-postgres.sh", "stop", fixture.directory], timeoutSeconds: 60)
        _ = try? runCommand(["rm", "-rf", fixture.directory])
    }

    static func readEnv(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        return values
    }
}

/// The Switchman binary (built by `swift build`) run with a given configuration.
final class SwitchmanProcess: @unchecked Sendable {
    // @unchecked: the Process is only started and stopped by the test that owns this object.
    let process = Process()
    let configPath: String
    let logPath: String

    init(configuration: String) throws {
        let binary = "\(RepositoryRoot.path)/.build/debug/switchman"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw FixtureError("\(binary) is missing: run `swift build` first (scripts/test.sh does)")
        }
        let base = "/tmp/switchman-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        configPath = base + ".conf"
        logPath = base + ".log"
        try configuration.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath]
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Waits until the log says the listener is up; returns its port.
    func waitForListener(_ name: String, timeoutSeconds: Double = 30) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            for line in log.split(separator: "\n") where line.contains("listener=\(name) ") && line.contains("listening on ") {
                if let range = line.range(of: "listening on "), let colon = line[range.upperBound...].lastIndex(of: ":") {
                    let portText = line[line.index(after: colon)...].prefix { $0.isNumber }
                    if let port = UInt16(portText) { return port }
                }
            }
            if !process.isRunning { throw FixtureError("switchman exited early:\n\(log)") }
            usleep(50_000)
        }
        throw FixtureError("listener \(name) not up within \(timeoutSeconds) s")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(40)
            while process.isRunning && Date() < deadline { usleep(20_000) }
        }
        try? FileManager.default.removeItem(atPath: configPath)
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// A blocking libpq connection for tests.
final class PGConnection {
    private let connection: OpaquePointer

    init(port: UInt16, password: String, host: String = "127.0.0.1") throws {
        let info = "host=\(host) port=\(port) user=postgres password=\(password) dbname=postgres connect_timeout=10 sslmode=disable"
        guard let connection = PQconnectdb(info) else { throw FixtureError("PQconnectdb returned nil") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw FixtureError("connect to port \(port): \(message)")
        }
        self.connection = connection
    }

    func close() { PQfinish(connection) }

    func execute(_ sql: String) throws {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw FixtureError("\(sql): \(String(cString: PQresultErrorMessage(result)))")
        }
    }

    func scalar(_ sql: String) throws -> String? {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            throw FixtureError("\(sql): \(String(cString: PQresultErrorMessage(result)))")
        }
        guard PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0 else { return nil }
        return String(cString: PQgetvalue(result, 0, 0))
    }

    /// COPY … FROM STDIN: `produce` calls `put` with each chunk.
    func copyIn(_ sql: String, produce: (([UInt8]) throws -> Void) throws -> Void) throws {
        let start = PQexec(connection, sql)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw FixtureError("\(sql): \(String(cString: PQresultErrorMessage(start)))")
        }
        PQclear(start)
        try produce { chunk in
            let rc = chunk.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
            }
            guard rc == 1 else { throw FixtureError("PQputCopyData: \(String(cString: PQerrorMessage(self.connection)))") }
        }
        guard PQputCopyEnd(connection, nil) == 1 else { throw FixtureError("PQputCopyEnd failed") }
        while let result = PQgetResult(connection) {
            defer { PQclear(result) }
            if PQresultStatus(result) != PGRES_COMMAND_OK {
                throw FixtureError("COPY: \(String(cString: PQresultErrorMessage(result)))")
            }
        }
    }

    /// COPY … TO STDOUT: each row's bytes go to `consume`; returns the byte count.
    func copyOut(_ sql: String, consume: ([UInt8]) -> Void) throws -> Int {
        let start = PQexec(connection, sql)
        guard PQresultStatus(start) == PGRES_COPY_OUT else {
            defer { PQclear(start) }
            throw FixtureError("\(sql): \(String(cString: PQresultErrorMessage(start)))")
        }
        PQclear(start)
        var total = 0
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let n = PQgetCopyData(connection, &buffer, 0)
            if n > 0, let buffer {
                consume(Array(UnsafeRawBufferPointer(start: buffer, count: Int(n))))
                total += Int(n)
                PQfreemem(buffer)
            } else if n == -1 {
                break
            } else {
                throw FixtureError("PQgetCopyData: \(String(cString: PQerrorMessage(connection)))")
            }
        }
        while let result = PQgetResult(connection) {
            defer { PQclear(result) }
            if PQresultStatus(result) != PGRES_COMMAND_OK {
                throw FixtureError("COPY OUT: \(String(cString: PQresultErrorMessage(result)))")
            }
        }
        return total
    }
}
