import SwitchmanCore

/// The coordinator's side of the failover ledger: one ``LeaderChangeFacts`` per leader change, with
/// the wall-clock time of each step the coordinator saw (the `failover` znode, the `leader` znode,
/// the SQL confirmation) and the sessions it closed. Bounded; loop-confined like the coordinator.
struct LeaderChangeLog {
    /// Changes kept, oldest first.
    private(set) var changes: [LeaderChangeFacts] = []
    static let limit = 50
    private var nextID: UInt64 = 1
    /// The change not confirmed yet (its index in `changes` moves when old ones are dropped, so the id).
    private var openID: UInt64?
    /// A switchover request seen and not yet followed by a leader change.
    private var switchoverRequestedAt: Double?
    /// A leader has been seen: the first picture's leader is no failover.
    private var sawLeader = false
    /// The route generation writes last flowed to (the plan may drop its leader before the `leader`
    /// znode moves, e.g. while Patroni stops it for a switchover).
    var lastWritableGeneration: UInt64?

    /// The `failover` znode asks for an immediate switchover (first sight only counts).
    mutating func switchoverRequested(at time: Double) {
        if switchoverRequestedAt == nil { switchoverRequestedAt = time }
    }

    /// No switchover is under way any more (the znode went, or its hold ran out).
    mutating func switchoverCleared() {
        switchoverRequestedAt = nil
    }

    /// The `leader` znode changed from `old` to `new`. A change not confirmed yet absorbs it (a
    /// leaderless gap, or a second move before any confirmation).
    mutating func leaderChanged(from old: String?, to new: String?, at time: Double) {
        defer { if new != nil { sawLeader = true } }
        if let index = openIndex {
            changes[index].newLeader = new
            return
        }
        // The first leader after start is discovery, not a failover.
        guard sawLeader || old != nil else { return }
        changes.append(LeaderChangeFacts(
            id: nextID, oldLeader: old, newLeader: new, oldGeneration: lastWritableGeneration,
            switchoverRequestedAt: switchoverRequestedAt, leaderChangedAt: time))
        openID = nextID
        nextID += 1
        switchoverRequestedAt = nil
        if changes.count > Self.limit { changes.removeFirst(changes.count - Self.limit) }
    }

    /// Sessions the change closed (counted on the open change, else the last one: closing may
    /// finish after the confirmation).
    mutating func sessionsClosed(_ count: Int) {
        guard let index = openIndex ?? changes.indices.last else { return }
        changes[index].sessionsClosed += count
    }

    /// The open change's new leader was confirmed writable in route generation `generation`.
    mutating func confirmed(_ leader: String, generation: UInt64, at time: Double) {
        guard let index = openIndex else { return }
        changes[index].newLeader = leader
        changes[index].generation = generation
        changes[index].confirmedAt = time
        openID = nil
    }

    private var openIndex: Int? {
        guard let openID else { return nil }
        return changes.lastIndex { $0.id == openID }
    }
}
