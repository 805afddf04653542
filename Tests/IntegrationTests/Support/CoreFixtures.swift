import CLibPQ
import Foundation
import Glibc
import Synchronization

/// A failure of the core end-to-end scaffolding, with what went wrong.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a script of the project (bounded) and returns its output, or throws with it.
@discardableResult
func runScript(_ path: String, _ arguments: [String], timeoutSeconds: Int = 120) throws -> String {
    let result = try Command.runBlocking(path, arguments, timeout: .seconds(timeoutSeconds))
    guard result.status == 0 else { throw FixtureError("\(path) \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.output)") }
    return result.output
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
            try runScript(Repository.root.appendingPathComponent("scripts/single-postgres.sh").path, ["start", directory])
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
        _ = try? runScript(Repository.root.appendingPathComponent("scripts/single-postgres.sh").path, ["stop", fixture.directory], timeoutSeconds: 60)
        try? FileManager.default.removeItem(atPath: fixture.directory)
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

/// The Switchman binary (built by `swift build`) run with a given static configuration.
final class StaticSwitchman: @unchecked Sendable {
    // @unchecked: started and stopped by the one test that owns it.
    let pid: pid_t
    let configPath: String
    let logPath: String

    /// `openFileLimit`: the process runs under `ulimit -n` of that many descriptors (soft and hard).
    init(configuration: String, openFileLimit: Int? = nil) throws {
        let binary = Repository.switchmanBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw FixtureError("\(binary) is missing: run `swift build` first (scripts/test.sh does)")
        }
        let base = "/tmp/switchman-it-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        configPath = base + ".conf"
        logPath = base + ".log"
        try configuration.write(toFile: configPath, atomically: true, encoding: .utf8)
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHMAN_") }.map { "\($0.key)=\($0.value)" }
        if let openFileLimit {
            // exec: the pid is Switchman's own, under the shell's limit.
            pid = try Spawn.start(
                "/bin/sh", ["-c", "ulimit -n \(openFileLimit) && exec \"$0\" \"$@\"", binary, "run", "--config", configPath],
                output: logPath, environment: environment)
        } else {
            pid = try Spawn.start(binary, ["run", "--config", configPath], output: logPath, environment: environment)
        }
    }

    /// What the process logged so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

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
            if Spawn.poll(pid) != nil { throw FixtureError("switchman exited early:\n\(log)") }
            usleep(50_000)
        }
        throw FixtureError("listener \(name) not up within \(timeoutSeconds) s")
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = Spawn.wait(pid, timeout: .seconds(40))
        try? FileManager.default.removeItem(atPath: configPath)
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

/// A blocking libpq connection for tests.
final class CopyConnection {
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
