/// One leader change as the failover ledger tells it: the coordinator's steps, what the data plane
/// saw around them, and the write-unavailability window they add up to. All times are wall-clock
/// seconds since the epoch.
///
/// The window runs from the last moment writes were served by the old leader to the first byte
/// forwarded to the new one (see docs/STATS.md, "Failover ledger", for the exact rules and their
/// limits).
public struct FailoverRecord: Sendable, Equatable {
    /// The coordinator's facts (steps, leaders, generations, sessions closed).
    public var change: LeaderChangeFacts
    /// The last byte forwarded from the old leader's term to a client, when it counts (see ``unavailableFrom``).
    public var oldLeaderLastReplyAt: Double?
    /// The first byte forwarded to the new leader's term.
    public var firstByteAt: Double?
    /// Connections held on primary listeners during the change, and how their waits ended.
    public var held: HoldSummary
    /// Connections refused on primary listeners during the change (hold timeouts included).
    public var refused: UInt64
    /// Start of the write-unavailability window.
    public var unavailableFrom: Double
    /// End of the window; `nil` while writes have not resumed.
    public var unavailableUntil: Double?
    /// What ended the window: the first byte to the new leader, or (no client was waiting) its confirmation.
    public var unavailableUntilSource: WindowEnd?
    /// The window is final: it no longer changes and was counted in the histogram.
    public var settled: Bool

    /// What ended a write-unavailability window.
    public enum WindowEnd: String, Sendable, Equatable {
        /// The first byte forwarded to the new leader.
        case firstByte = "first_byte"
        /// The SQL confirmation (no client sent anything within a second of it).
        case confirmation
    }

    /// Creates a record.
    public init(change: LeaderChangeFacts, oldLeaderLastReplyAt: Double? = nil, firstByteAt: Double? = nil, held: HoldSummary = HoldSummary(),
                refused: UInt64 = 0, unavailableFrom: Double, unavailableUntil: Double? = nil, unavailableUntilSource: WindowEnd? = nil,
                settled: Bool = false) {
        self.change = change
        self.oldLeaderLastReplyAt = oldLeaderLastReplyAt
        self.firstByteAt = firstByteAt
        self.held = held
        self.refused = refused
        self.unavailableFrom = unavailableFrom
        self.unavailableUntil = unavailableUntil
        self.unavailableUntilSource = unavailableUntilSource
        self.settled = settled
    }

    /// Length of the window in seconds; `nil` while open.
    public var unavailableSeconds: Double? { unavailableUntil.map { max(0, $0 - unavailableFrom) } }
}

/// Connections held during one failover.
public struct HoldSummary: Sendable, Equatable {
    /// Held connections whose wait ended (connected, timed out, or abandoned by their client).
    public var count: UInt64
    /// Of those, the ones refused at `hold_timeout`.
    public var timedOut: UInt64
    /// Of those, the ones whose client hung up while held (its own connect timeout was shorter).
    public var abandoned: UInt64
    /// Median wait from accept, seconds (over `count`); `nil` with none.
    public var waitP50: Double?
    /// 99th-percentile wait, seconds.
    public var waitP99: Double?
    /// Longest wait, seconds.
    public var waitMax: Double?

    /// Creates a summary.
    public init(count: UInt64 = 0, timedOut: UInt64 = 0, abandoned: UInt64 = 0, waitP50: Double? = nil, waitP99: Double? = nil,
                waitMax: Double? = nil) {
        self.count = count
        self.timedOut = timedOut
        self.abandoned = abandoned
        self.waitP50 = waitP50
        self.waitP99 = waitP99
        self.waitMax = waitMax
    }
}
