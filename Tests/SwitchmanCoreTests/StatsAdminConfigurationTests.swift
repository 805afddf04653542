import Foundation
import Testing

@testable import SwitchmanCore

/// `stats.admin`: the runtime controls' credentials, from the file or the environment, with errors
/// naming file, line and key.
struct StatsAdminConfigurationTests {
    static func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigurationError) -> ProxyConfiguration {
        try ConfigurationLoader.parse(yaml: yaml, file: "proxy.conf", environment: environment)
    }

    static let listener = "listeners:\n  - {name: web, bind: \"127.0.0.1:8080\", servers: [\"127.0.0.1:9000\"]}\n"

    static func error(_ yaml: String, environment: [String: String] = [:]) -> ConfigurationError? {
        do {
            _ = try parse(yaml, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test("no stats.admin leaves the controls off")
    func absentMeansOff() throws {
        #expect(try Self.parse(Self.listener).stats.admin == nil)
    }

    @Test("user and password turn the controls on")
    func userAndPassword() throws {
        let config = try Self.parse(Self.listener + "stats:\n  admin:\n    user: ops\n    password: \"pw\"\n")
        #expect(config.stats.admin == StatsAdminConfiguration(user: "ops", password: "pw"))
    }

    @Test("password_file is read at load: its first line, without the line break")
    func passwordFileIsRead() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-admin-\(UUID().uuidString)")
        try "from-file\nignored\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try Self.parse(Self.listener + "stats:\n  admin:\n    user: ops\n    password_file: \(file.path)\n")
        #expect(config.stats.admin?.password == "from-file")
    }

    @Test("environment variables set stats.admin's keys")
    func environmentSetsTheCredentials() throws {
        let config = try Self.parse(
            Self.listener, environment: ["SWITCHMAN_STATS_ADMIN_USER": "ops", "SWITCHMAN_STATS_ADMIN_PASSWORD": "env-pw"])
        #expect(config.stats.admin == StatsAdminConfiguration(user: "ops", password: "env-pw"))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let admin: String
        let line: Int?
        let key: String
        let message: String
        var testDescription: String { label }
    }

    // `admin:` is line 4 of the text; its mapping (where a missing key is reported) starts on line 5.
    static let cases: [Case] = [
        Case(label: "no user", admin: "    password: pw\n", line: 5, key: "stats.admin.user", message: "required key is missing"),
        Case(label: "user with a colon", admin: "    user: \"a:b\"\n    password: pw\n", line: 5, key: "stats.admin.user", message: "must not contain :"),
        Case(label: "no password", admin: "    user: ops\n", line: 5, key: "stats.admin.password", message: "password or password_file"),
        Case(label: "both", admin: "    user: ops\n    password: pw\n    password_file: /x\n", line: 7, key: "stats.admin.password_file", message: "not both"),
        Case(label: "missing password file", admin: "    user: ops\n    password_file: /nonexistent/switchman-pw\n", line: 6,
             key: "stats.admin.password_file", message: "/nonexistent/switchman-pw: no such file"),
        Case(label: "unknown key", admin: "    user: ops\n    pasword: pw\n", line: 6, key: "stats.admin.pasword", message: "did you mean \"password\"?"),
    ]

    @Test("mistakes in stats.admin name file, line and key", arguments: cases)
    func errorsNameFileLineAndKey(_ c: Case) throws {
        let error = try #require(Self.error(Self.listener + "stats:\n  admin:\n" + c.admin))
        #expect(error.file == "proxy.conf")
        #expect(error.line == c.line)
        #expect(error.key == c.key)
        #expect(error.message.contains(c.message), "\(error.message)")
    }

    @Test("a user with a colon from the environment names the variable")
    func environmentErrorNamesTheVariable() throws {
        let error = try #require(Self.error(
            Self.listener, environment: ["SWITCHMAN_STATS_ADMIN_USER": "a:b", "SWITCHMAN_STATS_ADMIN_PASSWORD": "pw"]))
        #expect(error.key == "SWITCHMAN_STATS_ADMIN_USER")
    }

    @Test("the ctl command's variables are not configuration keys, so a run with them set still starts")
    func ctlVariablesAreReserved() throws {
        _ = try Self.parse(Self.listener, environment: ["SWITCHMAN_CTL_PASSWORD": "x", "SWITCHMAN_CTL_USER": "ops"])
    }
}
