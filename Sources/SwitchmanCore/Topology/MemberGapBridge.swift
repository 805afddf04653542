/// Bridges the short gaps in a member's znode that Patroni makes on purpose.
///
/// Patroni 3.x deletes and re-creates `members/<name>` whenever some of its fields change (its
/// `touch_member`: the first loop after a promotion, a tag or version change, a move to or from
/// `running`). Seen raw, a healthy leader would "lose its member data" for a moment and every primary
/// session would be cut. So: while the `leader` znode names a member, its last known data stands in
/// for missing data; another member's last known data stands in for `grace` after it was last seen.
/// Data that is present always wins, and data that is present but invalid is never replaced.
/// Pure (the caller passes the monotonic time), so each rule is table-tested.
public struct MemberGapBridge: Sendable {
    /// How long a missing non-leader member keeps its last known data, in nanoseconds.
    public let graceNanoseconds: UInt64
    private var lastSeen: [String: (entry: MemberEntry, at: UInt64)] = [:]

    public init(graceNanoseconds: UInt64 = 3_000_000_000) {
        self.graceNanoseconds = graceNanoseconds
    }

    /// The topology with missing members filled in, the names that were filled in, and when the
    /// earliest filled-in non-leader entry expires (the caller re-plans then).
    public mutating func bridge(_ topology: Topology, now: UInt64) -> (topology: Topology, bridged: [String], expires: UInt64?) {
        var members = topology.members
        for (name, entry) in topology.members {
            if case .valid = entry { lastSeen[name] = (entry, now) } else { lastSeen[name] = nil }
        }
        var bridged: [String] = []
        var expires: UInt64?
        for (name, seen) in lastSeen where topology.members[name] == nil {
            if name == topology.leaderName {
                members[name] = seen.entry
                bridged.append(name)
            } else if now &- seen.at < graceNanoseconds {
                members[name] = seen.entry
                bridged.append(name)
                let expiry = seen.at &+ graceNanoseconds
                expires = min(expires ?? expiry, expiry)
            } else {
                lastSeen[name] = nil
            }
        }
        guard !bridged.isEmpty else { return (topology, [], nil) }
        let filled = Topology(
            scope: topology.scope, leaderName: topology.leaderName, members: members, leaderOptime: topology.leaderOptime,
            syncLeader: topology.syncLeader, syncStandbys: topology.syncStandbys, pendingSwitchover: topology.pendingSwitchover)
        return (filled, bridged.sorted(), expires)
    }
}
