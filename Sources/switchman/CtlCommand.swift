import ArgumentParser
import Foundation
import SwitchmanCore

extension ControlCommand.Action: ExpressibleByArgument {}

/// `switchman ctl ACTION NAME`: one runtime control of a running Switchman through its stats
/// server (`POST /admin/...`, basic auth with `stats.admin`'s credentials). Prints the answer; exit
/// 0 when it was applied, 1 when it was refused or could not be sent.
struct CtlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Drain, maint, ready or shutdown-sessions a member; pause or resume a listener.",
        discussion: """
            ACTION is drain, maint, ready or shutdown-sessions (NAME is a Patroni member), or pause or \
            resume (NAME is a listener). The password comes from --password-file or \
            $\(CtlCommand.passwordVariable); the user from --user or $\(CtlCommand.userVariable). \
            Example: switchman ctl drain node2 --stats http://127.0.0.1:7000 --user admin --password-file /etc/switchman/admin.password
            """)

    /// The variable holding the password when no `--password-file` is given.
    static let passwordVariable = "SWITCHMAN_CTL_PASSWORD"
    /// The variable holding the user when no `--user` is given.
    static let userVariable = "SWITCHMAN_CTL_USER"

    @Argument(help: "drain, maint, ready, shutdown-sessions, pause or resume.")
    var action: ControlCommand.Action

    @Argument(help: "The member (drain, maint, ready, shutdown-sessions) or listener (pause, resume).")
    var name: String

    @Option(name: .long, help: "The stats server, http://HOST:PORT.")
    var stats = "http://127.0.0.1:7000"

    @Option(name: .long, help: "stats.admin's user (default: $SWITCHMAN_CTL_USER).")
    var user: String?

    @Option(name: .long, help: "A file whose first line is stats.admin's password (default: $SWITCHMAN_CTL_PASSWORD).")
    var passwordFile: String?

    @Option(name: .long, help: "Seconds the whole request may take.")
    var timeout: Double = 5

    func validate() throws {
        _ = try target()
    }

    func run() throws {
        let answer: HealthProbe.Answer
        let target: HealthProbe.Target
        do {
            target = try self.target()
            let password = try Self.password(file: passwordFile, environment: ProcessInfo.processInfo.environment)
            let user = try Self.user(user, environment: ProcessInfo.processInfo.environment)
            var authorised = target
            authorised.credentials = "\(user):\(password)"
            answer = try HealthProbe.request("POST", authorised, timeout: max(0.05, timeout))
        } catch {
            FileHandle.standardError.write(Data("switchman ctl: \(action.rawValue) \(name): \(error)\n".utf8))
            throw ExitCode(1)
        }
        let line = answer.firstBodyLine.isEmpty ? answer.statusLine : answer.firstBodyLine
        if (200...299).contains(answer.status) {
            print(line)
        } else {
            FileHandle.standardError.write(Data("switchman ctl: \(action.rawValue) \(name) refused: \(line)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The POST's target: `--stats` (scheme, host and port only) with the control's path.
    func target() throws -> HealthProbe.Target {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ValidationError("\"\(name)\" is not a member or listener name (letters, digits, -, _ and . only)")
        }
        var target: HealthProbe.Target
        do {
            target = try HealthProbe.Target(parsing: stats)
        } catch {
            throw ValidationError("--stats \(stats): \(error)")
        }
        guard target.path == "/" else {
            throw ValidationError("--stats takes the server only (http://HOST:PORT), not a path: \(stats)")
        }
        guard target.credentials == nil else {
            throw ValidationError("--stats must not carry credentials; use --user and --password-file")
        }
        let kind = action.targetsMember ? "members" : "listeners"
        target.path = "/admin/\(kind)/\(name)/\(action.rawValue)"
        return target
    }

    /// The user: `--user`, else the variable; it must be set and hold no `:`.
    static func user(_ option: String?, environment: [String: String]) throws -> String {
        guard let user = option ?? environment[userVariable], !user.isEmpty else {
            throw ValidationError("no user: give --user or set \(userVariable)")
        }
        guard !user.contains(":") else { throw ValidationError("the user must not contain :") }
        return user
    }

    /// The password: the first line of `file` when given, else the variable.
    static func password(file: String?, environment: [String: String]) throws -> String {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --password-file \(file)")
            }
            // "\r\n" is one Character in Swift: split on it as well as on a bare LF or CR.
            let text = String(decoding: data, as: UTF8.self)
            let password = String(text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).first ?? "")
            guard !password.isEmpty else { throw ValidationError("--password-file \(file): the first line is empty") }
            return password
        }
        guard let password = environment[passwordVariable], !password.isEmpty else {
            throw ValidationError("no password: give --password-file or set \(passwordVariable)")
        }
        return password
    }
}
