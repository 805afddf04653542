/// What the cluster coordinator knows of one leader change, for the failover ledger: the times it
/// saw each step (wall-clock seconds since the epoch) and the sessions it closed.
///
/// A leaderless gap ("pg0 → none → pg1") and a `failover` znode that precedes the change are one
/// change; a new change starts when the `leader` znode moves after the previous one was confirmed.
public struct LeaderChangeFacts: Sendable, Equatable {
    /// Unique and increasing within the process (the ledger's key).
    public var id: UInt64
    /// The leader before the change; `nil` if there was none.
    public var oldLeader: String?
    /// The leader the change ended on (so far); `nil` while the `leader` znode is absent.
    public var newLeader: String?
    /// Route generation of the old leader's term; `nil` if writes were not flowing to it.
    public var oldGeneration: UInt64?
    /// Route generation of the new leader's term, once confirmed.
    public var generation: UInt64?
    /// When the `failover` znode (a switchover request) was seen; `nil` for an unplanned failover.
    public var switchoverRequestedAt: Double?
    /// When the `leader` znode changed (the first change of the gap).
    public var leaderChangedAt: Double
    /// When the new leader's promotion was confirmed over SQL (`pg_is_in_recovery()` false).
    public var confirmedAt: Double?
    /// Sessions to the old leader that Switchman closed.
    public var sessionsClosed: Int

    /// Creates the facts of a change.
    public init(id: UInt64, oldLeader: String?, newLeader: String?, oldGeneration: UInt64? = nil, generation: UInt64? = nil,
                switchoverRequestedAt: Double? = nil, leaderChangedAt: Double, confirmedAt: Double? = nil, sessionsClosed: Int = 0) {
        self.id = id
        self.oldLeader = oldLeader
        self.newLeader = newLeader
        self.oldGeneration = oldGeneration
        self.generation = generation
        self.switchoverRequestedAt = switchoverRequestedAt
        self.leaderChangedAt = leaderChangedAt
        self.confirmedAt = confirmedAt
        self.sessionsClosed = sessionsClosed
    }

    /// The first sign of the change: the switchover request, else the `leader` znode change.
    public var startedAt: Double { min(switchoverRequestedAt ?? leaderChangedAt, leaderChangedAt) }
}

/// What the data plane saw of one route generation (one leader term), in wall-clock seconds.
public struct GenerationTraffic: Sendable, Equatable {
    /// The first byte forwarded to a server of this generation.
    public var firstByteToServer: Double?
    /// The last byte forwarded from a server of this generation to a client.
    public var lastByteToClient: Double?

    /// Creates the figures of a generation.
    public init(firstByteToServer: Double? = nil, lastByteToClient: Double? = nil) {
        self.firstByteToServer = firstByteToServer
        self.lastByteToClient = lastByteToClient
    }
}

/// How one connection's wait on a primary listener ended (reported by the data plane).
public struct WaitOutcome: Sendable, Equatable {
    /// What came of the wait.
    public enum Kind: Sendable, Equatable {
        /// It was held, then connected to a server.
        case connected
        /// It was held until `hold_timeout`, then refused.
        case timedOut
        /// It was held, and the client hung up before it could connect.
        case abandoned
        /// It was refused without (or after a shorter) hold: no route, hold queue full.
        case refused
    }

    /// When the wait ended (wall-clock seconds).
    public var endedAt: Double
    /// Seconds from the connection's accept to that end.
    public var wait: Double
    /// What came of it.
    public var kind: Kind

    /// Creates an outcome.
    public init(endedAt: Double, wait: Double, kind: Kind) {
        self.endedAt = endedAt
        self.wait = wait
        self.kind = kind
    }
}
