import SwitchmanCore

/// What the router needs besides the request and the snapshot.
public struct StatsRouteConfiguration: Sendable, Equatable {
    /// How often the HTML page polls `stats.json`.
    public var refresh: Duration
    /// `user:password` required (basic auth) on everything but `/health`; `nil` leaves the page open.
    public var auth: String?
    /// A loop whose last heartbeat is older than this many seconds makes `/health` answer 503.
    public var heartbeatTimeout: Double
    /// The runtime controls' credentials (``AdminRoutes``); `nil`: the controls are off.
    public var admin: StatsAdminConfiguration?

    /// Creates a configuration.
    public init(refresh: Duration = .seconds(2), auth: String? = nil, heartbeatTimeout: Double = 5, admin: StatsAdminConfiguration? = nil) {
        self.refresh = refresh
        self.auth = auth
        self.heartbeatTimeout = heartbeatTimeout
        self.admin = admin
    }

    /// The router configuration for a `stats:` section.
    public init(_ stats: StatsConfiguration, heartbeatTimeout: Double = 5) {
        self.init(refresh: stats.refresh, auth: stats.auth, heartbeatTimeout: heartbeatTimeout, admin: stats.admin)
    }
}

/// The stats server's routes, as a pure function from a parsed request (and a snapshot) to a response.
///
/// | path | answer |
/// |---|---|
/// | `/` | the HTML page |
/// | `/stats.json` | ``StatsJSON`` |
/// | `/metrics` | ``PrometheusText`` |
/// | `/events.json` | ``LedgerJSON``: the failover ledger and recent events |
/// | `/ledger.html` | ``LedgerHTML``: the page's Failovers section alone (the page's script refreshes it) |
/// | `/health` | liveness: 200 while every loop has a heartbeat younger than `heartbeatTimeout`, else 503; never needs auth, never looks at the cluster |
/// | `/primary` | 200 when a primary-role listener's route is ready, else 503 |
/// | `/replica` | 200 when a replica-role listener's route is ready (replicas or fallback), else 503 |
/// | `/ready` | `/primary` when a primary-role listener exists, else 200 when any listener is ready |
/// | anything else | 404 |
///
/// Paths under `/admin/` are the runtime controls: ``AdminRoutes``, with their own credentials. Every
/// other path takes GET and HEAD only (405 for POST).
///
/// With `auth` set, every path but `/health` needs it (401 with `WWW-Authenticate` otherwise, also
/// for unknown paths, so they reveal nothing). Probe bodies are one line of text ending in `\n`.
public enum StatsRoutes {
    /// The response to `request`. `snapshot` is evaluated only when the route needs it (not for
    /// 401 or 404).
    public static func respond(
        to request: HTTPRequest,
        snapshot: @autoclosure () -> StatsSnapshot,
        configuration: StatsRouteConfiguration
    ) -> HTTPResponse {
        if request.path == "/health" {
            return probe(health(snapshot(), heartbeatTimeout: configuration.heartbeatTimeout))
        }
        if let expected = configuration.auth, !BasicAuth.matches(header: request.header("Authorization"), expected: expected) {
            return HTTPResponse(status: 401, headers: [HTTPHeader("WWW-Authenticate", BasicAuth.challenge)], body: "401 Unauthorized\n")
        }
        if request.method == .post {
            return HTTPResponse(status: 405, headers: [HTTPHeader("Allow", "GET, HEAD")],
                                body: "405 Method Not Allowed: only the controls under /admin/ take POST\n")
        }
        switch request.path {
        case "/":
            return HTTPResponse(
                status: 200,
                contentType: StatsHTML.contentType,
                headers: [HTTPHeader("Content-Security-Policy", StatsHTML.contentSecurityPolicy)],
                body: StatsHTML.render(snapshot(), refresh: configuration.refresh)
            )
        case "/stats.json":
            return HTTPResponse(status: 200, contentType: "application/json", body: StatsJSON.render(snapshot()))
        case "/metrics":
            return HTTPResponse(status: 200, contentType: PrometheusText.contentType, body: PrometheusText.render(snapshot()))
        case "/events.json":
            return HTTPResponse(status: 200, contentType: "application/json", body: LedgerJSON.render(snapshot()))
        case "/ledger.html":
            return HTTPResponse(status: 200, contentType: StatsHTML.contentType, body: LedgerHTML.render(snapshot()))
        case "/ready":
            return probe(ready(snapshot()))
        case "/primary":
            return probe(routeReadiness(snapshot(), role: .primary))
        case "/replica":
            return probe(routeReadiness(snapshot(), role: .replica))
        default:
            return HTTPResponse(status: 404, body: "404 Not Found: try /, /stats.json, /events.json, /metrics, /health, /ready, /primary, /replica\n")
        }
    }

    /// A verdict of a probe and its one-line reason.
    public struct Verdict: Sendable, Equatable {
        /// 200 if true, 503 if false.
        public let ok: Bool
        /// One line for people (no line break).
        public let reason: String

        /// Creates a verdict.
        public init(ok: Bool, reason: String) {
            self.ok = ok
            self.reason = reason
        }
    }

    private static func probe(_ verdict: Verdict) -> HTTPResponse {
        HTTPResponse(status: verdict.ok ? 200 : 503, body: (verdict.ok ? "ok: " : "unavailable: ") + oneLine(verdict.reason) + "\n")
    }

    private static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
    }

    /// Liveness: every loop turned within `heartbeatTimeout` seconds. Cluster state plays no part, so
    /// a failover never makes an orchestrator restart the proxy.
    public static func health(_ s: StatsSnapshot, heartbeatTimeout: Double) -> Verdict {
        guard !s.loops.isEmpty else { return Verdict(ok: false, reason: "no event loop reported") }
        if let stalled = s.loops.first(where: { !($0.heartbeatAge <= heartbeatTimeout) }) {
            return Verdict(ok: false, reason: "event loop \(stalled.id) has not turned for \(StatsFormat.duration(stalled.heartbeatAge))")
        }
        let oldest = s.loops.map(\.heartbeatAge).max() ?? 0
        return Verdict(ok: true, reason: "\(s.loops.count) event loops turning, oldest heartbeat \(StatsFormat.duration(oldest)) ago")
    }

    /// Whether some listener of `role` can route now; the reason names the listener and its servers,
    /// or the first listener's hold/unavailable reason.
    public static func routeReadiness(_ s: StatsSnapshot, role: ListenerRole) -> Verdict {
        let candidates = s.listeners.filter { $0.role == role }
        guard let first = candidates.first else { return Verdict(ok: false, reason: "no \(role.rawValue) listener configured") }
        if let ready = candidates.first(where: { $0.routeState == .ready }) {
            let servers = ready.routeServers.isEmpty ? "" : " -> " + ready.routeServers.joined(separator: ", ")
            return Verdict(ok: true, reason: "listener \(ready.name) ready\(servers)")
        }
        return Verdict(ok: false, reason: "listener \(first.name) \(first.routeState.name): \(first.routeState.reason ?? "")")
    }

    /// Readiness for a load balancer: the primary port when there is one, else any listener.
    public static func ready(_ s: StatsSnapshot) -> Verdict {
        if s.listeners.contains(where: { $0.role == .primary }) { return routeReadiness(s, role: .primary) }
        guard !s.listeners.isEmpty else { return Verdict(ok: false, reason: "no listener configured") }
        if let ready = s.listeners.first(where: { $0.routeState == .ready }) {
            return Verdict(ok: true, reason: "listener \(ready.name) ready")
        }
        let first = s.listeners[0]
        return Verdict(ok: false, reason: "listener \(first.name) \(first.routeState.name): \(first.routeState.reason ?? "")")
    }
}
