import SwitchmanCore

/// The ErrorResponse a PostgreSQL client receives instead of a bare close when its session gets no
/// server: a pure function of why the session ends, so it is table-tested without sockets.
struct StartupRefusal: Equatable {
    /// What kept the session from a server.
    enum Wait: Equatable {
        /// It never waited.
        case none
        /// It was held for a route (failover, no picture of the cluster yet).
        case hold
        /// It was queued for a server at its `server_maxconn`.
        case queue
    }

    /// SQLSTATE: `57P03` cannot_connect_now (failover, hold, no eligible node), `53300`
    /// too_many_connections (server queue full or timed out), `08006` connection_failure (no server
    /// could be reached), `57P01` admin_shutdown (its node left the route, or an operator shut its
    /// sessions down, before the start-up ended).
    let sqlstate: String
    /// The primary message, naming the listener (and cluster) and the reason.
    let message: String

    /// The refusal for a session of `listener` ending with `end`; nil when the end is no refusal
    /// (only `noBackend`, `connectFailed`, and, for a start-up cut short, `routeChanged` and
    /// `operatorShutdown` are).
    init?(end: SessionEnd, listener: String, cluster: String?, lastWait: Wait) {
        let place = cluster.map { "listener \(listener) (cluster \($0))" } ?? "listener \(listener)"
        switch end {
        case .noBackend(let detail):
            sqlstate = lastWait == .queue ? "53300" : "57P03"
            message = "switchman: \(place): \(detail)"
        case .connectFailed(let detail):
            sqlstate = "08006"
            message = "switchman: \(place): cannot connect to a server: \(detail)"
        case .routeChanged(let detail), .operatorShutdown(let detail):
            sqlstate = "57P01"
            message = "switchman: \(place): session closed during its start-up: \(detail)"
        default:
            return nil
        }
    }

    /// The ErrorResponse bytes, severity FATAL.
    var errorResponse: [UInt8] {
        PostgresMessages.errorResponse(severity: "FATAL", sqlstate: sqlstate, message: message)
    }
}
