/// One line of the recent-events list: what happened and when.
public struct StatsEvent: Sendable, Equatable {
    /// When it happened (seconds since the epoch).
    public var time: Double
    /// What sort of event it is.
    public var kind: StatsEventKind
    /// One human-readable line.
    public var message: String
    /// The details of a leader change; `nil` for other kinds.
    public var leaderChange: LeaderChangeDetails?

    /// Creates an event.
    public init(time: Double, kind: StatsEventKind, message: String, leaderChange: LeaderChangeDetails? = nil) {
        self.time = time
        self.kind = kind
        self.message = message
        self.leaderChange = leaderChange
    }
}

/// Kinds of event (the raw value is what JSON carries).
public enum StatsEventKind: String, Sendable, Equatable, CaseIterable {
    /// The `leader` znode changed (or was confirmed).
    case leaderChange = "leader_change"
    /// ZooKeeper session: connected, lost, reconnected, expired.
    case zookeeper
    /// A configuration reload, applied or rejected.
    case reload
    /// A backend went UP, DOWN or EXCLUDED.
    case backendStatus = "backend_status"
    /// A check of Switchman's own (SQL, REST) changed its verdict.
    case healthCheck = "health_check"
    /// A listener started, stopped, or changed route state.
    case listener
    /// Process start, shutdown, anything else.
    case process
}

/// What a leader change did.
public struct LeaderChangeDetails: Sendable, Equatable {
    /// The previous leader; `nil` if there was none.
    public var oldLeader: String?
    /// The new leader; `nil` if the `leader` znode went away.
    public var newLeader: String?
    /// The primary generation after the change.
    public var generation: UInt64
    /// Sessions closed because they belonged to the old leader.
    public var sessionsClosed: Int
    /// Seconds from the new `leader` znode to the SQL confirmation of the promotion; `nil` until confirmed.
    public var timeToConfirmation: Double?

    /// Creates the details of a leader change.
    public init(
        oldLeader: String?,
        newLeader: String?,
        generation: UInt64,
        sessionsClosed: Int,
        timeToConfirmation: Double? = nil
    ) {
        self.oldLeader = oldLeader
        self.newLeader = newLeader
        self.generation = generation
        self.sessionsClosed = sessionsClosed
        self.timeToConfirmation = timeToConfirmation
    }
}
