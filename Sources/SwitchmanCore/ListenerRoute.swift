/// What one listener may connect to right now: the runtime's only input about backends.
///
/// Static listeners get a route straight from their `servers`; cluster roles get one computed from the
/// ZooKeeper topology (and the checks) by a pure function. The loops hold a copy and consult it at
/// connect time; a new route replaces the old one whole.
public struct ListenerRoute: Sendable, Equatable {
    /// Whether new sessions may connect, must wait, or must be refused.
    public enum State: Sendable, Equatable {
        /// Connect to one of `servers`.
        case ready
        /// Keep new sessions waiting (primary port during a failover), with the reason shown to operators.
        case hold(reason: String)
        /// Refuse new sessions with this reason (it reaches the client in an error message).
        case unavailable(reason: String)
    }

    /// Whether new sessions may connect, must wait, or must be refused.
    public let state: State
    /// Candidate servers, in the order balancing starts from.
    public let servers: [RouteServer]
    /// When true, a live session whose server (by name and generation) is no longer in `servers`
    /// is closed at once: a leader change, or a replica that left routing. Static listeners keep
    /// their sessions across a reload, so it is false for them.
    public let closesStaleSessions: Bool

    public init(state: State, servers: [RouteServer], closesStaleSessions: Bool) {
        self.state = state
        self.servers = servers
        self.closesStaleSessions = closesStaleSessions
    }
}

/// One candidate of a route.
public struct RouteServer: Sendable, Hashable {
    /// Member name for cluster routes, `host:port` for static servers.
    public let name: String
    /// Where to connect.
    public let endpoint: Endpoint
    /// Bumped each time this server (re)enters the route with a new meaning (e.g. each time a node
    /// becomes the confirmed leader), so sessions from an earlier term are recognised as stale.
    public let generation: UInt64

    public init(name: String, endpoint: Endpoint, generation: UInt64 = 0) {
        self.name = name
        self.endpoint = endpoint
        self.generation = generation
    }
}
