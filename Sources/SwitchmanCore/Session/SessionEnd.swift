/// Why a session ended; one word of it goes into the session log line.
public enum SessionEnd: Sendable, Equatable, CustomStringConvertible {
    /// The client closed first and both directions drained.
    case clientClosed
    /// The server closed first and both directions drained.
    case serverClosed
    /// No bytes from the client for `timeouts.client_idle`.
    case clientIdleTimeout
    /// No bytes from the server for `timeouts.server_idle`.
    case serverIdleTimeout
    /// No server could be reached (connect refused, timed out, unreachable) after the retries.
    case connectFailed(String)
    /// No server to try: the route is unavailable, the hold or queue timed out, or the hold is full.
    case noBackend(String)
    /// A socket error in the middle of the transfer (reset, broken pipe).
    case error(String)
    /// Its server left the route (leader change, replica excluded): closed at once.
    case routeChanged(String)
    /// The proxy is shutting down (drain period over) or the listener was removed.
    case shutdown
    /// An operator shut down its server's sessions (`shutdown-sessions`); the detail says who.
    case operatorShutdown(String)
    /// The connection carried a PostgreSQL CancelRequest, forwarded to the node(s) named in the detail.
    case cancelForwarded(String)

    /// The short word used in logs and stats.
    public var code: String {
        switch self {
        case .clientClosed: return "client_eof"
        case .serverClosed: return "server_eof"
        case .clientIdleTimeout: return "client_timeout"
        case .serverIdleTimeout: return "server_timeout"
        case .connectFailed: return "connect_failed"
        case .noBackend: return "no_backend"
        case .error: return "error"
        case .routeChanged: return "route_changed"
        case .shutdown: return "shutdown"
        case .operatorShutdown: return "admin_shutdown"
        case .cancelForwarded: return "cancel"
        }
    }

    public var description: String {
        switch self {
        case .connectFailed(let detail), .noBackend(let detail), .error(let detail), .routeChanged(let detail),
             .cancelForwarded(let detail), .operatorShutdown(let detail):
            return "\(code) (\(detail))"
        default:
            return code
        }
    }
}
