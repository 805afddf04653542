import SwitchmanCore

/// The runtime controls' routes, as pure functions: a request under `/admin/` becomes either an
/// answer (refused) or a ``ControlCommand`` to perform, and a ``ControlOutcome`` becomes the answer.
///
/// | path (POST only) | does |
/// |---|---|
/// | `/admin/members/<name>/drain` | no new sessions to the member, open ones stay |
/// | `/admin/members/<name>/maint` | drained, reported MAINT |
/// | `/admin/members/<name>/ready` | back to the usual rules |
/// | `/admin/members/<name>/shutdown-sessions` | closes the member's open sessions |
/// | `/admin/listeners/<name>/pause` | new connections of the listener are held |
/// | `/admin/listeners/<name>/resume` | held and new connections go through |
///
/// Checked in this order, so nothing is revealed or changed without the credentials: controls off
/// (`stats.admin` not configured) → 403; credentials wrong or missing → 401; not a control → 404;
/// not POST → 405 with `Allow: POST`. Unknown member or listener → 404 (from the outcome).
public enum AdminRoutes {
    /// Every control path starts with this.
    public static let prefix = "/admin/"

    /// The challenge sent with 401 (its own realm, so a browser keeps the page's credentials apart).
    public static let challenge = "Basic realm=\"switchman admin\", charset=\"UTF-8\""

    /// What to do with a request under ``prefix``.
    public enum Decision: Sendable, Equatable {
        /// Refused: send this.
        case respond(HTTPResponse)
        /// Authorised and well-formed: perform it, then answer with ``response(for:)``.
        case perform(ControlCommand)
    }

    /// Whether `path` is one the controls answer.
    public static func handles(_ path: String) -> Bool {
        HTTPMethod.isControlPath(path)
    }

    /// Decides on `request` (whose path ``handles(_:)``); `client` is the peer's `ip:port`, for the log.
    public static func decide(_ request: HTTPRequest, admin: StatsAdminConfiguration?, client: String) -> Decision {
        guard let admin else {
            return .respond(HTTPResponse(
                status: 403, body: "403 Forbidden: runtime controls are off; configure stats.admin (user, and password or password_file) to turn them on\n"))
        }
        guard BasicAuth.matches(header: request.header("Authorization"), expected: admin.credential) else {
            return .respond(HTTPResponse(
                status: 401, headers: [HTTPHeader("WWW-Authenticate", challenge)],
                body: "401 Unauthorized: the controls need stats.admin's user and password (HTTP basic auth)\n"))
        }
        guard let (action, target) = parse(request.path) else {
            return .respond(HTTPResponse(status: 404, body: "404 Not Found: \(usage)\n"))
        }
        guard request.method == .post else {
            return .respond(HTTPResponse(
                status: 405, headers: [HTTPHeader("Allow", "POST")],
                body: "405 Method Not Allowed: controls change state, so they take POST only\n"))
        }
        return .perform(ControlCommand(action: action, target: target, user: admin.user, client: client))
    }

    /// The answer to a performed control: 200, 404 (no such member or listener) or 409; one line.
    public static func response(for outcome: ControlOutcome) -> HTTPResponse {
        switch outcome {
        case .done(let message): HTTPResponse(status: 200, body: "ok: \(message)\n")
        case .notFound(let message): HTTPResponse(status: 404, body: "404 Not Found: \(message)\n")
        case .conflict(let message): HTTPResponse(status: 409, body: "409 Conflict: \(message)\n")
        }
    }

    /// The paths the controls know, for 404 answers.
    static let usage = "controls are POST /admin/members/<name>/{drain,maint,ready,shutdown-sessions} "
        + "and POST /admin/listeners/<name>/{pause,resume}"

    /// `/admin/<members|listeners>/<name>/<action>`, with an action that fits the kind of target.
    static func parse(_ path: String) -> (ControlCommand.Action, ControlCommand.Target)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "admin", !parts[3].isEmpty,
              let action = ControlCommand.Action(rawValue: String(parts[4])) else { return nil }
        let name = String(parts[3])
        switch parts[2] {
        case "members" where action.targetsMember: return (action, .member(name))
        case "listeners" where !action.targetsMember: return (action, .listener(name))
        default: return nil
        }
    }
}
