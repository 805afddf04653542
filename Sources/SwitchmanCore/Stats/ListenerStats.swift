/// One listener in a ``StatsSnapshot``: its route now and its traffic since start.
///
/// "In" is client → server, "out" is server → client. Counters only grow (they are summed over the
/// loops at snapshot time); rates are over the last 10 s (see ``RateWindow``).
public struct ListenerStats: Sendable, Equatable {
    /// The configured name.
    public var name: String
    /// The bound address, `host:port`.
    public var bind: String
    /// What the listener forwards to.
    public var role: ListenerRole
    /// Whether new sessions connect, wait, or are refused right now, with the reason.
    public var routeState: ListenerRoute.State
    /// Names of the servers the current route may connect to, in balancing order.
    public var routeServers: [String]
    /// Sessions open now.
    public var sessionsCurrent: Int
    /// The listener's session limit; `nil` when only the global `maxconn` applies.
    public var sessionsMax: Int?
    /// Sessions accepted since start.
    public var sessionsTotal: UInt64
    /// Connections waiting for a route (primary port during a failover).
    public var held: Int
    /// Connections waiting for a slot on a server at its `server_maxconn`.
    public var queued: Int
    /// Bytes from clients to servers since start.
    public var bytesIn: UInt64
    /// Bytes from servers to clients since start.
    public var bytesOut: UInt64
    /// Connects to servers that failed (refused, timed out, unreachable) since start.
    public var connectErrors: UInt64
    /// Connects retried on another server (or replayed start-ups) since start.
    public var retries: UInt64
    /// Sessions closed because their server left the route (leader change, replica excluded) since start.
    public var staleSessionsClosed: UInt64
    /// Sessions still waiting for their server's first answer that a route change sent to the new
    /// route's server instead of closing them, since start.
    public var sessionsMovedByRouteChange: UInt64
    /// `client_address: application_name`: start-ups whose `application_name` got the client's
    /// address, and start-ups that went on untagged because they were encrypted (TLS, GSSAPI), since start.
    public var clientAddressTagged: UInt64
    public var clientAddressUntaggedEncrypted: UInt64
    /// Connections refused (no route, hold timed out or full, limits) since start.
    public var sessionsRefused: UInt64
    /// PostgreSQL cancel requests forwarded since start.
    public var cancelRequestsForwarded: UInt64
    /// New sessions per second over the last 10 s.
    public var sessionsPerSecond: Double
    /// Client → server bytes per second over the last 10 s.
    public var bytesInPerSecond: Double
    /// Server → client bytes per second over the last 10 s.
    public var bytesOutPerSecond: Double
    /// Whether an operator paused it (`POST /admin/listeners/<name>/pause`): new connections are held.
    public var paused: Bool = false

    /// Creates a listener entry; counters default to zero.
    public init(
        name: String,
        bind: String,
        role: ListenerRole,
        routeState: ListenerRoute.State,
        routeServers: [String] = [],
        sessionsCurrent: Int = 0,
        sessionsMax: Int? = nil,
        sessionsTotal: UInt64 = 0,
        held: Int = 0,
        queued: Int = 0,
        bytesIn: UInt64 = 0,
        bytesOut: UInt64 = 0,
        connectErrors: UInt64 = 0,
        retries: UInt64 = 0,
        staleSessionsClosed: UInt64 = 0,
        sessionsMovedByRouteChange: UInt64 = 0,
        clientAddressTagged: UInt64 = 0,
        clientAddressUntaggedEncrypted: UInt64 = 0,
        sessionsRefused: UInt64 = 0,
        cancelRequestsForwarded: UInt64 = 0,
        sessionsPerSecond: Double = 0,
        bytesInPerSecond: Double = 0,
        bytesOutPerSecond: Double = 0
    ) {
        self.name = name
        self.bind = bind
        self.role = role
        self.routeState = routeState
        self.routeServers = routeServers
        self.sessionsCurrent = sessionsCurrent
        self.sessionsMax = sessionsMax
        self.sessionsTotal = sessionsTotal
        self.held = held
        self.queued = queued
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.connectErrors = connectErrors
        self.retries = retries
        self.staleSessionsClosed = staleSessionsClosed
        self.sessionsMovedByRouteChange = sessionsMovedByRouteChange
        self.clientAddressTagged = clientAddressTagged
        self.clientAddressUntaggedEncrypted = clientAddressUntaggedEncrypted
        self.sessionsRefused = sessionsRefused
        self.cancelRequestsForwarded = cancelRequestsForwarded
        self.sessionsPerSecond = sessionsPerSecond
        self.bytesInPerSecond = bytesInPerSecond
        self.bytesOutPerSecond = bytesOutPerSecond
    }
}

extension ListenerRoute.State {
    /// `ready`, `hold` or `unavailable`: the state's name as JSON and metrics carry it.
    public var name: String {
        switch self {
        case .ready: "ready"
        case .hold: "hold"
        case .unavailable: "unavailable"
        }
    }

    /// The reason for `hold` and `unavailable`; `nil` when ready.
    public var reason: String? {
        switch self {
        case .ready: nil
        case .hold(let reason), .unavailable(let reason): reason
        }
    }
}
