/// The raw bytes of the znodes Switchman watches under `/<namespace>/<scope>/`, as last read.
///
/// `nil` means the znode does not exist. The watcher keeps one of these and turns it into a
/// ``Topology`` (pure) each time it changes.
public struct PatroniZNodes: Sendable, Hashable {
    /// `leader`: the leader's member name, plain UTF-8.
    public var leader: [UInt8]?
    /// `members/<name>` → that znode's JSON.
    public var members: [String: [UInt8]]
    /// `status`: `{"optime": <LSN>, ...}` (Patroni ≥ 2.1, the 3.x/4.x layout).
    public var status: [UInt8]?
    /// `optime/leader`: the leader's LSN as decimal text (older Patroni).
    public var legacyOptime: [UInt8]?
    /// `sync`: `{"leader": ..., "sync_standby": "a,b" | null}`.
    public var sync: [UInt8]?
    /// `failover`: `{"leader": ..., "member": ..., "scheduled_at": ...}` while a switchover is pending.
    public var failover: [UInt8]?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(
        leader: [UInt8]? = nil,
        members: [String: [UInt8]] = [:],
        status: [UInt8]? = nil,
        legacyOptime: [UInt8]? = nil,
        sync: [UInt8]? = nil,
        failover: [UInt8]? = nil
    ) {
        self.leader = leader
        self.members = members
        self.status = status
        self.legacyOptime = legacyOptime
        self.sync = sync
        self.failover = failover
    }
}
