/// The cluster section of a ``StatsSnapshot``: what ZooKeeper says and how sure Switchman is of it.
public struct ClusterStats: Sendable, Equatable {
    /// Patroni's `scope`.
    public var scope: String
    /// Patroni's `namespace` (with its leading slash).
    public var namespace: String
    /// The ZooKeeper ensemble, `host:port` each, as configured.
    public var zookeeperHosts: [String]
    /// The ZooKeeper session as the client sees it now.
    public var session: ZooKeeperSessionState
    /// When the last ZooKeeper watch or session event arrived; `nil` before the first.
    public var lastEventTime: Double?
    /// The leader named by the `leader` znode; `nil` when there is none (failover, or no picture yet).
    public var leader: LeaderStats?
    /// The primary generation: bumped on every leader change, it tags primary sessions.
    public var generation: UInt64
    /// Leader changes seen since start.
    public var leaderChangesTotal: UInt64
    /// ZooKeeper sessions expired since start (each one fails writes closed until a fresh picture).
    public var sessionExpiriesTotal: UInt64
    /// ZooKeeper connection losses since start (reconnected within the session or not).
    public var disconnectsTotal: UInt64
    /// `cluster.on_dcs_loss` (`verify`, `fail_closed`).
    public var dcsLossPolicy: String
    /// Times a confirmed leader answered `pg_is_in_recovery() = true` (writes held each time).
    public var leaderDisagreementsTotal: UInt64
    /// Times a member other than the leader answered `pg_is_in_recovery() = false` (split brain).
    public var splitBrainsTotal: UInt64
    /// Times `on_dcs_loss: verify` cut writes because the leader's SQL or REST check said otherwise.
    public var dcsLossWriteCutsTotal: UInt64

    /// Creates the cluster section.
    public init(
        scope: String,
        namespace: String,
        zookeeperHosts: [String],
        session: ZooKeeperSessionState,
        lastEventTime: Double? = nil,
        leader: LeaderStats? = nil,
        generation: UInt64 = 0,
        leaderChangesTotal: UInt64 = 0,
        sessionExpiriesTotal: UInt64 = 0,
        disconnectsTotal: UInt64 = 0,
        dcsLossPolicy: String = "verify",
        leaderDisagreementsTotal: UInt64 = 0,
        splitBrainsTotal: UInt64 = 0,
        dcsLossWriteCutsTotal: UInt64 = 0
    ) {
        self.scope = scope
        self.namespace = namespace
        self.zookeeperHosts = zookeeperHosts
        self.session = session
        self.lastEventTime = lastEventTime
        self.leader = leader
        self.generation = generation
        self.leaderChangesTotal = leaderChangesTotal
        self.sessionExpiriesTotal = sessionExpiriesTotal
        self.disconnectsTotal = disconnectsTotal
        self.dcsLossPolicy = dcsLossPolicy
        self.leaderDisagreementsTotal = leaderDisagreementsTotal
        self.splitBrainsTotal = splitBrainsTotal
        self.dcsLossWriteCutsTotal = dcsLossWriteCutsTotal
    }
}

/// The ZooKeeper client session, as shown to operators (the raw value is what JSON and metrics carry).
public enum ZooKeeperSessionState: String, Sendable, Equatable, CaseIterable {
    /// The first connection is being made.
    case connecting
    /// Connected; watches are live.
    case connected
    /// Connection lost, the session still valid: the last picture is kept.
    case reconnecting
    /// The session expired: writes fail closed until a fresh picture is read.
    case expired
    /// No client at all (no cluster configured, or shut down).
    case noSession = "none"
}

/// The current leader and how far Switchman trusts it.
public struct LeaderStats: Sendable, Equatable {
    /// The member name in the `leader` znode.
    public var name: String
    /// When Switchman first saw this member as leader (seconds since the epoch).
    public var since: Double
    /// Whether an SQL probe saw `pg_is_in_recovery() = false`; writes flow only once it is true.
    public var confirmed: Bool
    /// When the promotion was confirmed; `nil` while unconfirmed.
    public var confirmedAt: Double?

    /// Creates a leader record.
    public init(name: String, since: Double, confirmed: Bool, confirmedAt: Double? = nil) {
        self.name = name
        self.since = since
        self.confirmed = confirmed
        self.confirmedAt = confirmedAt
    }
}
