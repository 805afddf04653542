import Foundation

/// What ZooKeeper says about one Patroni cluster at one moment: pure data, built from znodes.
public struct Topology: Sendable, Hashable {
    /// Patroni's `scope`.
    public let scope: String
    /// The member the `leader` znode names (trimmed); `nil` when there is no leader znode (or it is empty).
    public let leaderName: String?
    /// Every `members/<name>` znode, valid or not, by name.
    public let members: [String: MemberEntry]
    /// The leader's LSN from `status` (`optime`), else from the older `optime/leader` znode.
    public let leaderOptime: UInt64?
    /// `sync.leader`: the leader the synchronous standby list belongs to.
    public let syncLeader: String?
    /// `sync.sync_standby` (a comma-separated string, or a list), names trimmed; empty when none.
    public let syncStandbys: [String]
    /// A switchover or manual failover Patroni was asked for and has not finished (the `failover` znode).
    public let pendingSwitchover: PendingSwitchover?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(
        scope: String,
        leaderName: String? = nil,
        members: [String: MemberEntry] = [:],
        leaderOptime: UInt64? = nil,
        syncLeader: String? = nil,
        syncStandbys: [String] = [],
        pendingSwitchover: PendingSwitchover? = nil
    ) {
        self.scope = scope
        self.leaderName = leaderName
        self.members = members
        self.leaderOptime = leaderOptime
        self.syncLeader = syncLeader
        self.syncStandbys = syncStandbys
        self.pendingSwitchover = pendingSwitchover
    }

    /// Builds the picture from raw znodes. Never fails: unreadable pieces become `nil`/invalid.
    public init(scope: String, znodes: PatroniZNodes) {
        let leader = znodes.leader
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { $0.isEmpty ? nil : $0 }
        var members: [String: MemberEntry] = [:]
        for (name, json) in znodes.members {
            members[name] = ClusterMember.parse(name: name, json: json)
        }
        let statusOptime = znodes.status.flatMap { Self.jsonObject($0)?["optime"] }.flatMap(JSONNumbers.uint64)
        let legacyOptime = znodes.legacyOptime.flatMap { JSONNumbers.uint64(String(decoding: $0, as: UTF8.self)) }
        let sync = znodes.sync.flatMap(Self.jsonObject)
        let named: [Substring]
        switch sync?["sync_standby"] {
        case let text as String:
            named = text.split(separator: ",")
        case let list as [Any]:
            named = list.compactMap { ($0 as? String).map { Substring($0) } }
        default:
            named = []
        }
        // Both forms alike: names trimmed, empty ones dropped.
        let standbys = named.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.init(
            scope: scope,
            leaderName: leader,
            members: members,
            leaderOptime: statusOptime ?? legacyOptime,
            syncLeader: sync?["leader"] as? String,
            syncStandbys: standbys,
            // Patroni empties the znode (rather than deleting it) once a switchover is done: only a
            // value naming a leader or a member is a pending one.
            pendingSwitchover: znodes.failover.flatMap(Self.jsonObject).flatMap { object in
                let from = (object["leader"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                let to = (object["member"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                guard from != nil || to != nil else { return nil }
                return PendingSwitchover(
                    from: from, to: to, scheduled: (object["scheduled_at"] as? String).map { !$0.isEmpty } ?? false)
            }
        )
    }

    /// The leader's member data, when the `leader` znode names a member with valid data.
    public var leader: ClusterMember? {
        leaderName.flatMap { members[$0]?.member }
    }

    /// The LSN replicas are measured against: the larger of the leader's optime and the leader
    /// member's `xlog_location` (both written once per `loop_wait`; the larger is the fresher). With no
    /// leader member (a failover under way), the most advanced position any member reports, so reads
    /// keep flowing to replicas while the cluster elects a leader.
    public var referenceLSN: UInt64? {
        let positions: [UInt64?]
        if let leader {
            positions = [leaderOptime, leader.xlogLocation]
        } else {
            positions = [leaderOptime] + members.values.map { $0.member?.xlogLocation }
        }
        return positions.compactMap { $0 }.max()
    }

    /// A member's replication lag in bytes (never negative); `nil` for the leader, an unknown or
    /// invalid member, or when either position is unknown.
    public func lag(of name: String) -> UInt64? {
        guard name != leaderName, let reference = referenceLSN,
              let position = members[name]?.member?.xlogLocation else { return nil }
        return reference > position ? reference - position : 0
    }

    /// Lag in bytes of every valid non-leader member whose position is known, by name.
    public var lags: [String: UInt64] {
        var result: [String: UInt64] = [:]
        for name in members.keys {
            if let lag = lag(of: name) { result[name] = lag }
        }
        return result
    }

    /// Whether `name` is listed as synchronous standby of the current leader.
    public func isSyncStandby(_ name: String) -> Bool {
        syncStandbys.contains(name) && (syncLeader == nil || syncLeader == leaderName)
    }

    private static func jsonObject(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) as? [String: Any]
    }
}

/// What the `failover` znode says: Patroni was asked to move the leader (`patronictl switchover`,
/// `POST /switchover`, a manual failover). The old leader stops PostgreSQL before it gives up the
/// `leader` znode, so a connection opened in between meets a node that is shutting down.
public struct PendingSwitchover: Sendable, Hashable {
    /// The leader it moves away from, when named.
    public let from: String?
    /// The member it moves to, when named.
    public let to: String?
    /// Scheduled for later (`scheduled_at`): nothing happens yet.
    public let scheduled: Bool

    public init(from: String?, to: String?, scheduled: Bool) {
        self.from = from
        self.to = to
        self.scheduled = scheduled
    }
}
