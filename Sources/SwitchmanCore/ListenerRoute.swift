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
    /// Servers that take no new sessions but whose open sessions stay (a replica over `max_lag` or
    /// drained by an operator; the leader a replica listener fell back to, once replicas are back).
    public let draining: [RouteServer]

    public init(state: State, servers: [RouteServer], closesStaleSessions: Bool, draining: [RouteServer] = []) {
        self.state = state
        self.servers = servers
        self.closesStaleSessions = closesStaleSessions
        self.draining = draining
    }
}

/// A server's identity for counting: its name and where it is, across every leader term. The one
/// key the data plane's counters and the stats page share (`name@host:port` when printed).
public struct ServerKey: Sendable, Hashable, CustomStringConvertible {
    /// Member name for cluster routes, `host:port` for static servers.
    public let name: String
    /// Where it is reached.
    public let endpoint: Endpoint

    public init(name: String, endpoint: Endpoint) {
        self.name = name
        self.endpoint = endpoint
    }

    /// The key of a static listener's server, named by its address.
    public init(staticServer endpoint: Endpoint) {
        self.init(name: endpoint.description, endpoint: endpoint)
    }

    public var description: String { "\(name)@\(endpoint)" }
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

    /// The server's identity without its term.
    public var key: ServerKey { ServerKey(name: name, endpoint: endpoint) }
}
