import Foundation
import TestSupport
import Synchronization

/// A real PostgreSQL 15 on 127.0.0.1 for a test: its own data directory (copied from a template
/// made once per test process with `initdb`), a free port, `ssl = on` with a self-signed certificate,
/// md5 passwords over TCP (user `postgres`, password ``PostgresNode/password``). Runs as the
/// `postgres` user through `runuser` (PostgreSQL refuses root), so tests using it need root.
final class PostgresNode: Sendable {
    static let password = "switchman"
    static let binaries = "/usr/lib/postgresql/15/bin"

    /// Whether real-PostgreSQL tests can run here: PostgreSQL 15, runuser, openssl, and root.
    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "\(binaries)/initdb")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    }

    let port: UInt16
    let directory: String
    var dataDirectory: String { directory + "/data" }

    /// Copies the template and starts the node (waiting until it accepts connections unless `wait` is false).
    init(wait: Bool = true) throws {
        let base = try Self.template()
        let directory = base + "/node-\(UUID().uuidString.prefix(8))"
        self.directory = directory
        try Shell.check(["/bin/cp", "-a", base + "/template", directory + "/data"], prepare: { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false) })
        try Shell.check(["/bin/chown", "-R", "postgres:postgres", directory])
        port = try closedPort()
        try start(wait: wait)
    }

    /// `pg_ctl start` (again, after a stop).
    func start(wait: Bool = true) throws {
        let options = "-c port=\(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(directory)"
            + " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off -c max_connections=60"
        try Shell.check(Self.asPostgres(["\(Self.binaries)/pg_ctl", "start", "-D", dataDirectory, "-l", directory + "/postgres.log",
                                         wait ? "-w" : "-W", "-t", "60", "-o", options]))
    }

    /// `pg_ctl stop -m mode`; with `wait` false it returns at once (a smart stop waits for sessions).
    func stop(mode: String = "fast", wait: Bool = true) {
        _ = Shell.run(Self.asPostgres(["\(Self.binaries)/pg_ctl", "stop", "-D", dataDirectory, "-m", mode, wait ? "-w" : "-W", "-t", "60"]))
    }

    /// Stops the node at once and deletes its directory.
    func destroy() {
        stop(mode: "immediate")
        _ = Shell.run(["/bin/rm", "-rf", directory])
    }

    /// libpq connection string for this node, directly.
    func conninfo(_ extra: String = "sslmode=disable gssencmode=disable") -> String {
        "host=127.0.0.1 port=\(port) user=postgres password=\(Self.password) dbname=postgres connect_timeout=10 \(extra)"
    }

    // MARK: - Template

    private static let templateState = Mutex<Result<String, TemplateError>?>(nil)

    /// Makes the template data directory once (initdb, password, certificate); returns its base folder.
    private static func template() throws -> String {
        try templateState.withLock { state -> String in
            if let state { return try state.get() }
            let result: Result<String, TemplateError>
            do {
                result = .success(try makeTemplate())
            } catch {
                result = .failure(TemplateError(description: "\(error)"))
            }
            state = result
            return try result.get()
        }
    }

    private static func makeTemplate() throws -> String {
        var pattern = Array("/tmp/switchman-pgtest-XXXXXX".utf8CString)
        guard let made = mkdtemp(&pattern) else { throw TemplateError(description: "mkdtemp failed") }
        let base = String(cString: made)
        baseForCleanup.withLock { $0 = base }
        atexit { PostgresNode.removeTemplate() }
        chmod(base, 0o755)
        try Shell.check(["/bin/chown", "postgres:postgres", base])
        let passwordFile = base + "/pwfile"
        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try Shell.check(["/bin/chown", "postgres:postgres", passwordFile])
        let data = base + "/template"
        try Shell.check(asPostgres(["\(binaries)/initdb", "-D", data, "-U", "postgres", "--pwfile=\(passwordFile)",
                                    "--auth-local=trust", "--auth-host=md5", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]))
        try Shell.check(["/usr/bin/openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost",
                         "-newkey", "rsa:2048", "-keyout", data + "/server.key", "-out", data + "/server.crt"])
        try Shell.check(["/bin/chown", "postgres:postgres", data + "/server.key", data + "/server.crt"])
        chmod(data + "/server.key", 0o600)
        return base
    }

    private static let baseForCleanup = Mutex<String?>(nil)

    private static func removeTemplate() {
        guard let base = baseForCleanup.withLock({ $0 }) else { return }
        _ = Shell.run(["/bin/rm", "-rf", base])
    }

    private static func asPostgres(_ command: [String]) -> [String] {
        ["/usr/sbin/runuser", "-u", "postgres", "--"] + command
    }

    struct TemplateError: Error, CustomStringConvertible {
        let description: String
    }
}

/// Runs commands for test set-up.
enum Shell {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `argv` to completion; returns its status and combined output. posix_spawn and waitpid
    /// directly: Foundation's Process sometimes never saw `runuser` exit after a daemon was started.
    /// The output goes through a file, not a pipe, which a daemon started by the command (a
    /// postmaster) could keep open for ever.
    @discardableResult
    static func run(_ argv: [String]) -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "switchman-shell-\(UUID().uuidString)"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { return (-1, "posix_spawn \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = textOfFile(outputPath)
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : -1, text)
    }

    /// Runs `argv` and throws with its output when it fails.
    static func check(_ argv: [String], prepare: () throws -> Void = {}) throws {
        try prepare()
        let (status, output) = run(argv)
        if status != 0 { throw Failure(description: "\(argv.joined(separator: " ")) exited \(status): \(output)") }
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
