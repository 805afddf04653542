/// What one SQL check of a member returned.
public enum CheckOutcome: Sendable, Hashable {
    /// The check query answered.
    case reading(MemberReading)
    /// Connecting or the query failed, or it timed out; the text says which and why.
    case failed(String)
}

/// How checks are counted (`cluster.check`: `rise`, `fall`, `min_dwell`).
public struct CheckCounting: Sendable, Hashable {
    /// Good checks in a row before a failing member, or a lagging replica, is trusted again.
    public var rise: Int
    /// Failed checks in a row before a member counts as failing.
    public var fall: Int
    /// Shortest steady spell under the re-admit threshold before a lagging replica is readmitted.
    public var minDwell: Duration

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(rise: Int = 2, fall: Int = 3, minDwell: Duration = .seconds(10)) {
        self.rise = rise
        self.fall = fall
        self.minDwell = minDwell
    }
}

/// Everything Switchman's own SQL checks know about one member.
public struct MemberHealth: Sendable, Hashable {
    /// The last reading, if any check answered since the member was first seen.
    public internal(set) var reading: MemberReading?
    /// When `reading` was taken (monotonic nanoseconds).
    public internal(set) var readAt: UInt64?
    /// `currentLSN` of the reading before `reading` (the primary's earlier position, see ``ReplicaLag``).
    public internal(set) var earlierCurrentLSN: UInt64?
    /// The pass/fail count of its checks.
    public internal(set) var check = CheckStreak()
    /// Its lag, measured at its last reading; `nil` for the leader or before any reading.
    public internal(set) var lag: ReplicaLag?
    /// When the last check finished (seconds since the epoch) and how long it took.
    public internal(set) var lastCheckTime: Double?
    /// Duration of the last check, seconds; `nil` when it failed.
    public internal(set) var lastCheckDuration: Double?
    /// It answered "not in recovery" while another member holds the leader znode.
    public internal(set) var splitBrain = false

    /// Nothing checked yet.
    public init() {}
}

/// Something a check changed that operators should hear about (the coordinator logs and records it).
public enum HealthNotice: Sendable, Hashable {
    /// `fall` checks in a row failed.
    case checkFailing(member: String, error: String)
    /// `rise` checks in a row passed after it was failing.
    case checkPassing(member: String)
    /// A replica went in or out of a lag-limited listener's read pool.
    case admission(listener: String, member: String, admitted: Bool, reason: String?)
    /// The member the `leader` znode names answered `pg_is_in_recovery() = true`.
    case leaderInRecovery(member: String)
    /// A member other than the leader answered `pg_is_in_recovery() = false` (split brain), or stopped doing so.
    case splitBrain(member: String, leader: String?, ongoing: Bool)
}

/// The health of every member as Switchman's own checks see it, and each lag-limited replica
/// listener's damped admission: what the route planner needs beyond ZooKeeper. Pure value; the
/// coordinator feeds it check outcomes.
public struct HealthPicture: Sendable, Hashable {
    /// Member name → its health.
    public private(set) var members: [String: MemberHealth] = [:]
    /// Replica listener name → member name → its admission (listeners with a `max_lag` only).
    public private(set) var admissions: [String: [String: ReadAdmission]] = [:]
    /// How checks are counted.
    public var counting: CheckCounting
    /// Split-brain answers seen since start (each episode once).
    public private(set) var splitBrainsTotal: UInt64 = 0
    /// The leader's positions over the last checks (oldest first) and whose they are.
    private var leaderPositions: [LSNSample] = []
    private var positionsOf: String?
    private static let positionsKept = 128

    /// Nothing checked yet.
    public init(counting: CheckCounting = CheckCounting()) {
        self.counting = counting
    }

    /// Forgets members that left the cluster, and listeners no longer configured.
    public mutating func retain(members names: Set<String>, listeners: Set<String>) {
        members = members.filter { names.contains($0.key) }
        admissions = admissions.filter { listeners.contains($0.key) }.mapValues { $0.filter { names.contains($0.key) } }
    }

    /// Records one check of `member`, finished at `now` (monotonic ns; `wallTime` for the page).
    ///
    /// - Parameters:
    ///   - leader: the member the `leader` znode names now.
    ///   - listeners: the configured listeners (replica ones with `max_lag` get an admission).
    /// - Returns: what changed that operators should hear about.
    public mutating func record(
        _ outcome: CheckOutcome, member name: String, duration: Double, leader: String?, listeners: [ListenerConfiguration],
        now: UInt64, wallTime: Double
    ) -> [HealthNotice] {
        var health = members[name] ?? MemberHealth()
        var notices: [HealthNotice] = []
        health.lastCheckTime = wallTime
        switch outcome {
        case .failed(let error):
            health.lastCheckDuration = nil
            if health.check.failed(error, fall: counting.fall) { notices.append(.checkFailing(member: name, error: error)) }
            members[name] = health
            return notices
        case .reading(let reading):
            health.lastCheckDuration = duration
            if health.check.succeeded(rise: counting.rise) { notices.append(.checkPassing(member: name)) }
            health.earlierCurrentLSN = health.reading?.currentLSN
            health.reading = reading
            health.readAt = now
            let rogue = name != leader && !reading.inRecovery
            if rogue != health.splitBrain {
                health.splitBrain = rogue
                if rogue { splitBrainsTotal += 1 }
                notices.append(.splitBrain(member: name, leader: leader, ongoing: rogue))
            }
            if name == leader {
                health.lag = nil
                if reading.inRecovery { notices.append(.leaderInRecovery(member: name)) }
                if let lsn = reading.currentLSN {
                    if positionsOf != name { (leaderPositions, positionsOf) = ([], name) }
                    leaderPositions.append(LSNSample(lsn: lsn, at: now))
                    if leaderPositions.count > Self.positionsKept { leaderPositions.removeFirst(leaderPositions.count - Self.positionsKept) }
                }
            } else {
                let (reference, earlier) = referencePositions(leader: leader, excluding: name)
                health.lag = ReplicaLag.measure(reading, reference: reference, earlierReference: earlier,
                                                history: positionsOf == leader ? leaderPositions : [], readAt: now)
            }
            members[name] = health
        }
        guard let lag = health.lag else { return notices }
        for listener in listeners where listener.role == .replica {
            guard let limit = listener.maxLag else { continue }
            var admission = admissions[listener.name]?[name] ?? ReadAdmission()
            if admission.observe(lag, limit: limit, rise: counting.rise, minDwell: counting.minDwell, now: now) {
                notices.append(.admission(listener: listener.name, member: name, admitted: admission.admitted == true,
                                          reason: admission.reason))
            }
            admissions[listener.name, default: [:]][name] = admission
        }
        return notices
    }

    /// The admission of `member` to `listener`'s pool, if that listener limits lag.
    public func admission(listener: String, member: String) -> ReadAdmission? {
        admissions[listener]?[member]
    }

    /// The primary's latest WAL position and the one before it. From the leader's own readings;
    /// with no leader reading (a failover under way), the furthest position any other member
    /// reports, so reads keep flowing to replicas that are level with each other.
    private func referencePositions(leader: String?, excluding name: String) -> (UInt64?, UInt64?) {
        if let leader, let reading = members[leader]?.reading, let current = reading.currentLSN {
            return (current, members[leader]?.earlierCurrentLSN)
        }
        let positions = members.filter { $0.key != name }.values.compactMap(\.reading).flatMap {
            [$0.currentLSN, $0.receiveLSN, $0.replayLSN].compactMap { $0 }
        }
        return (positions.max(), nil)
    }
}
