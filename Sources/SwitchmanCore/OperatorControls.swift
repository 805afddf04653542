/// What operators set at runtime through the stats server's controls (`stats.admin`): members taken
/// out of new sessions, and listeners whose new connections wait. A pure input of ``RoutePlanner``;
/// forgotten on restart (a process that starts drained would surprise whoever restarted it).
public struct OperatorControls: Sendable, Equatable {
    /// Member name → its state; a member absent here is ``MemberAdminState/ready``.
    public private(set) var members: [String: MemberAdminState] = [:]
    /// Listeners whose new connections are held (as during a failover, up to `hold_timeout`).
    public private(set) var pausedListeners: Set<String> = []

    /// No member drained, no listener paused.
    public init() {}

    /// The operator's state of `member`.
    public func state(of member: String) -> MemberAdminState {
        members[member] ?? .ready
    }

    /// Sets `member`'s state; returns the one it had.
    @discardableResult
    public mutating func set(_ state: MemberAdminState, for member: String) -> MemberAdminState {
        let previous = self.state(of: member)
        members[member] = state == .ready ? nil : state
        return previous
    }

    /// Whether new connections of `listener` are held.
    public func isPaused(_ listener: String) -> Bool {
        pausedListeners.contains(listener)
    }

    /// Pauses or resumes `listener`; returns whether it was paused.
    @discardableResult
    public mutating func setPaused(_ paused: Bool, listener: String) -> Bool {
        let was = pausedListeners.contains(listener)
        if paused { pausedListeners.insert(listener) } else { pausedListeners.remove(listener) }
        return was
    }
}

/// A member's state as an operator set it (HAProxy's READY / DRAIN / MAINT).
public enum MemberAdminState: String, Sendable, Equatable, CaseIterable {
    /// Routed by the usual rules.
    case ready
    /// No new sessions; open ones stay.
    case drain
    /// Drained, and reported as MAINT rather than DOWN (planned maintenance: alerts stay quiet).
    case maint
}

/// One runtime control an operator asks for (`POST /admin/...`, `switchman ctl`).
public struct ControlCommand: Sendable, Equatable, CustomStringConvertible {
    /// What to do.
    public enum Action: String, Sendable, Equatable, CaseIterable {
        /// A member: no new sessions, open ones stay.
        case drain
        /// A member: drained and reported MAINT.
        case maint
        /// A member: back to the usual rules.
        case ready
        /// A member: close its open sessions now.
        case shutdownSessions = "shutdown-sessions"
        /// A listener: hold new connections.
        case pause
        /// A listener: let held and new connections through.
        case resume

        /// Whether the action applies to a member (else to a listener).
        public var targetsMember: Bool {
            switch self {
            case .drain, .maint, .ready, .shutdownSessions: true
            case .pause, .resume: false
            }
        }
    }

    /// What the command acts on.
    public enum Target: Sendable, Equatable, CustomStringConvertible {
        /// A Patroni member, by name.
        case member(String)
        /// A configured listener, by name.
        case listener(String)

        public var description: String {
            switch self {
            case .member(let name): "member \(name)"
            case .listener(let name): "listener \(name)"
            }
        }
    }

    /// What to do.
    public let action: Action
    /// To what.
    public let target: Target
    /// Who asked: the basic-auth user.
    public let user: String
    /// Who asked: the client's address (`ip:port`), or `unknown`.
    public let client: String

    /// Creates a command.
    public init(action: Action, target: Target, user: String, client: String) {
        self.action = action
        self.target = target
        self.user = user
        self.client = client
    }

    /// `alice from 127.0.0.1:50000: drain member node2`, for logs and events.
    public var description: String { "\(user) from \(client): \(action.rawValue) \(target)" }
}

/// How a control ended; the stats server turns it into a status code.
public enum ControlOutcome: Sendable, Equatable {
    /// Applied (or already so); the text says what it did.
    case done(String)
    /// No such member or listener (404).
    case notFound(String)
    /// Understood but not possible here, e.g. pausing without a `cluster:` section (409).
    case conflict(String)
}
