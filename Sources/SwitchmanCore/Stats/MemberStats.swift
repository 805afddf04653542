/// One backend in a ``StatsSnapshot``: a Patroni member of the cluster, or a server of a static listener.
public struct MemberStats: Sendable, Equatable {
    /// The Patroni member name, or `host:port` for a static server.
    public var name: String
    /// Where it is reached, `host:port`; `nil` when its member JSON did not decode.
    public var address: String?
    /// `nil` for a cluster member; the listener's name for a static server.
    public var listener: String?
    /// Patroni's `role` as written (`master`, `primary`, `replica`, `standby_leader`…); `nil` if unknown.
    public var role: String?
    /// Patroni's `state` (`running`, `starting`, `stopped`…); `nil` if unknown.
    public var state: String?
    /// The PostgreSQL timeline; `nil` if unknown.
    public var timeline: Int?
    /// Replication lag behind the leader in bytes (from Switchman's SQL check when it runs, else from
    /// ZooKeeper); `nil` for the leader, static servers or when unknown.
    public var lagBytes: Int?
    /// How far replay trails the primary, seconds (0 once caught up), from the SQL check; `nil` when unknown.
    public var lagSeconds: Double?
    /// Failed SQL checks of this member since start.
    public var checkFailuresTotal: UInt64
    /// Patroni tags that are set (`nofailover`, `noloadbalance`, `nosync`, `nostream`…), sorted.
    public var tags: [String]
    /// Whether the `leader` znode names this member.
    public var isLeader: Bool
    /// Whether Switchman routes to it.
    public var status: BackendStatus
    /// Why it is DOWN or EXCLUDED (lag, noloadbalance, invalid JSON, not confirmed…); `nil` when UP.
    public var statusReason: String?
    /// When `status` last changed (seconds since the epoch); `nil` if it never changed since start.
    public var lastStatusChange: Double?
    /// Sessions open to it now.
    public var sessionsCurrent: Int
    /// Sessions connected to it since start.
    public var sessionsTotal: UInt64
    /// Bytes sent to it since start (client → server).
    public var bytesIn: UInt64
    /// Bytes received from it since start (server → client).
    public var bytesOut: UInt64
    /// Results of Switchman's own checks of this member (SQL probe, REST…), one per kind of check.
    public var checks: [HealthCheckStats]
    /// What an operator set (`ready` unless drained or in maintenance); always `ready` for a static server.
    public var adminState: MemberAdminState = .ready

    /// Creates a backend entry.
    public init(
        name: String,
        address: String?,
        listener: String? = nil,
        role: String? = nil,
        state: String? = nil,
        timeline: Int? = nil,
        lagBytes: Int? = nil,
        lagSeconds: Double? = nil,
        checkFailuresTotal: UInt64 = 0,
        tags: [String] = [],
        isLeader: Bool = false,
        status: BackendStatus,
        statusReason: String? = nil,
        lastStatusChange: Double? = nil,
        sessionsCurrent: Int = 0,
        sessionsTotal: UInt64 = 0,
        bytesIn: UInt64 = 0,
        bytesOut: UInt64 = 0,
        checks: [HealthCheckStats] = []
    ) {
        self.name = name
        self.address = address
        self.listener = listener
        self.role = role
        self.state = state
        self.timeline = timeline
        self.lagBytes = lagBytes
        self.lagSeconds = lagSeconds
        self.checkFailuresTotal = checkFailuresTotal
        self.tags = tags
        self.isLeader = isLeader
        self.status = status
        self.statusReason = statusReason
        self.lastStatusChange = lastStatusChange
        self.sessionsCurrent = sessionsCurrent
        self.sessionsTotal = sessionsTotal
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.checks = checks
    }
}

/// Whether Switchman routes to a backend (the raw value is what every renderer shows).
public enum BackendStatus: String, Sendable, Equatable, CaseIterable {
    /// Eligible for at least one listener.
    case up = "UP"
    /// Unreachable or not running.
    case down = "DOWN"
    /// Reachable but kept out of routing on purpose (lag, `noloadbalance`, invalid JSON, not confirmed).
    case excluded = "EXCLUDED"
    /// Drained by an operator (`POST /admin/members/<name>/drain`): no new sessions, open ones stay.
    case drain = "DRAIN"
    /// In maintenance, set by an operator: drained, and MAINT rather than DOWN while it is away.
    case maint = "MAINT"
}

/// The latest result of one kind of check Switchman runs against a member (SQL promotion probe,
/// replay-lag query, REST `/health`…). Defined now so the health-check work slots in without a schema change.
public struct HealthCheckStats: Sendable, Equatable {
    /// The kind of check, e.g. `sql` or `rest`.
    public var name: String
    /// Whether the last run passed.
    public var ok: Bool
    /// When it last ran (seconds since the epoch).
    public var time: Double
    /// How long it took, in seconds; `nil` if it timed out.
    public var duration: Double?
    /// One line: what it saw or why it failed.
    public var detail: String

    /// Creates a check result.
    public init(name: String, ok: Bool, time: Double, duration: Double? = nil, detail: String = "") {
        self.name = name
        self.ok = ok
        self.time = time
        self.duration = duration
        self.detail = detail
    }
}
