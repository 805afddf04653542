import ArgumentParser
import Foundation
import Testing
@testable import switchman

/// `switchman ctl`: arguments, where the credentials come from, and the request it sends.
struct CtlCommandTests {
    @Test("a member action posts to /admin/members/<name>/<action> on the --stats server")
    func memberActionPath() throws {
        let command = try CtlCommand.parse(["drain", "node2", "--stats", "http://127.0.0.1:7001"])
        let target = try command.target()
        #expect(target.host == "127.0.0.1")
        #expect(target.port == 7001)
        #expect(target.path == "/admin/members/node2/drain")
    }

    @Test("a listener action posts to /admin/listeners/<name>/<action>; shutdown-sessions is a member action", arguments: [
        (["pause", "primary"], "/admin/listeners/primary/pause"),
        (["resume", "primary"], "/admin/listeners/primary/resume"),
        (["shutdown-sessions", "pg-1"], "/admin/members/pg-1/shutdown-sessions"),
        (["maint", "pg.1"], "/admin/members/pg.1/maint"),
        (["ready", "pg_1"], "/admin/members/pg_1/ready"),
    ])
    func actionPaths(_ arguments: [String], _ path: String) throws {
        #expect(try CtlCommand.parse(arguments).target().path == path)
    }

    @Test("--stats defaults to the stats server's default address")
    func defaultStats() throws {
        let target = try CtlCommand.parse(["drain", "node2"]).target()
        #expect((target.host, target.port) == ("127.0.0.1", 7000))
    }

    @Test("an unknown action, a bad name, a --stats with a path or credentials, are refused before anything is sent", arguments: [
        ["reboot", "node2"],
        ["drain", "node/2"],
        ["drain", "node2", "--stats", "http://127.0.0.1:7000/admin"],
        ["drain", "node2", "--stats", "http://u:p@127.0.0.1:7000"],
        ["drain", "node2", "--stats", "https://127.0.0.1:7000"],
        ["drain"],
    ])
    func badArgumentsAreRefused(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try CtlCommand.parse(arguments) }
    }

    @Test("the password comes from --password-file's first line, else the variable; none is an error")
    func passwordSources() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-ctl-\(UUID().uuidString)")
        try "from-file\r\nsecond\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try CtlCommand.password(file: file.path, environment: ["SWITCHMAN_CTL_PASSWORD": "env"]) == "from-file")
        #expect(try CtlCommand.password(file: nil, environment: ["SWITCHMAN_CTL_PASSWORD": "env"]) == "env")
        #expect(throws: (any Error).self) { try CtlCommand.password(file: nil, environment: [:]) }
        #expect(throws: (any Error).self) { try CtlCommand.password(file: "/nonexistent/switchman-ctl", environment: [:]) }
    }

    @Test("the user comes from --user, else the variable; none or one with a colon is an error")
    func userSources() throws {
        #expect(try CtlCommand.user("ops", environment: ["SWITCHMAN_CTL_USER": "env"]) == "ops")
        #expect(try CtlCommand.user(nil, environment: ["SWITCHMAN_CTL_USER": "env"]) == "env")
        #expect(throws: (any Error).self) { try CtlCommand.user(nil, environment: [:]) }
        #expect(throws: (any Error).self) { try CtlCommand.user("a:b", environment: [:]) }
    }

    @Test("ctl against a port where nothing listens fails with exit code 1")
    func unreachableServerExitsNonZero() throws {
        var command = try CtlCommand.parse(["drain", "node2", "--stats", "http://127.0.0.1:1", "--user", "ops", "--timeout", "2"])
        command.passwordFile = nil
        setenv("SWITCHMAN_CTL_PASSWORD", "pw", 1)
        defer { unsetenv("SWITCHMAN_CTL_PASSWORD") }
        #expect(throws: ExitCode(1)) { try command.run() }
    }
}
