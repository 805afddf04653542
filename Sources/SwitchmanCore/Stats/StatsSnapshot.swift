/// Everything the operators' view shows, captured at one instant: the single model behind the HTML
/// page, `/stats.json`, `/metrics` and the health endpoints (HAProxy's one-stats-model, several
/// renderers).
///
/// The runtime fills it (summing per-loop counters) whenever a request needs it; the renderers are pure
/// functions of it. Every time is wall-clock seconds since the Unix epoch (`Double`), so a fixed
/// snapshot always renders to the same bytes.
public struct StatsSnapshot: Sendable, Equatable {
    /// When this snapshot was taken (seconds since the epoch); ages and uptime are measured from it.
    public var generatedAt: Double
    /// The Switchman process itself.
    public var process: ProcessStats
    /// The Patroni cluster followed through ZooKeeper; `nil` when only static listeners are configured.
    public var cluster: ClusterStats?
    /// One entry per configured listener, in configuration order.
    public var listeners: [ListenerStats]
    /// Cluster members and static servers, in the order they should be shown (leader first is a good choice).
    public var members: [MemberStats]
    /// The most recent events, newest first; renderers keep this order.
    public var events: [StatsEvent]
    /// One entry per event loop thread; `/health` reads it.
    public var loops: [LoopStats]
    /// The failover ledger and the last 15 minutes of traffic; `nil` when not collected.
    public var ledger: LedgerStats?

    /// Creates a snapshot; only the time and the process section are required.
    public init(
        generatedAt: Double,
        process: ProcessStats,
        cluster: ClusterStats? = nil,
        listeners: [ListenerStats] = [],
        members: [MemberStats] = [],
        events: [StatsEvent] = [],
        loops: [LoopStats] = [],
        ledger: LedgerStats? = nil
    ) {
        self.generatedAt = generatedAt
        self.process = process
        self.cluster = cluster
        self.listeners = listeners
        self.members = members
        self.events = events
        self.loops = loops
        self.ledger = ledger
    }

    /// Seconds the process has been running at `generatedAt` (never negative).
    public var uptime: Double { max(0, generatedAt - process.startTime) }
}
