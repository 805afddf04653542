/// The failover ledger: a bounded history of ``FailoverRecord``s built from the coordinator's
/// ``LeaderChangeFacts``, the data plane's per-generation traffic and its connections' wait
/// outcomes, plus the histogram of write-unavailability windows.
///
/// Pure value, fed by one owner (the stats assembler, once a second); the caller supplies every
/// time, so tests drive it without a clock.
public struct FailoverLedger: Sendable, Equatable {
    /// Records kept (the oldest go first).
    public let capacity: Int
    /// Held connections whose waits are kept per record for the percentiles (counts stay exact beyond).
    public let waitsPerRecord: Int
    /// How long a connection may be held (`cluster.hold_timeout`): a wait ending later than that
    /// after a confirmation belongs to no failover.
    public var holdTimeout: Double
    /// Oldest first.
    private var entries: [Entry] = []
    /// One observation per settled window (never shrinks with the history).
    public private(set) var writeUnavailable = LatencyHistogram(bounds: LatencyHistogram.unavailableBounds)

    /// A window whose end is the confirmation when no byte reached the new leader within this long after it.
    public static let firstByteGrace = 1.0
    /// A last reply of the old leader older than this before an unplanned change is not the failover's.
    public static let lastReplyLookback = 60.0

    private struct Entry: Sendable, Equatable {
        var record: FailoverRecord
        var traffic = GenerationTraffic()
        var oldTraffic = GenerationTraffic()
        var waits: [Double] = []
    }

    /// Creates an empty ledger.
    public init(capacity: Int = 50, waitsPerRecord: Int = 4096, holdTimeout: Double = 30) {
        precondition(capacity >= 1 && waitsPerRecord >= 1)
        self.capacity = capacity
        self.waitsPerRecord = waitsPerRecord
        self.holdTimeout = holdTimeout
    }

    /// Newest first.
    public var records: [FailoverRecord] { entries.reversed().map(\.record) }

    /// Adds or updates the records of these changes (any order; already-known ids are updated).
    public mutating func update(changes: [LeaderChangeFacts], now: Double) {
        for change in changes.sorted(by: { $0.id < $1.id }) {
            if let index = entries.firstIndex(where: { $0.record.change.id == change.id }) {
                entries[index].record.change = change
            } else if entries.last.map({ change.id > $0.record.change.id }) ?? true {
                entries.append(Entry(record: FailoverRecord(change: change, unavailableFrom: change.startedAt)))
                if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
            }
        }
        refresh(now: now)
    }

    /// What the data plane saw per route generation (wall-clock times; the earliest first byte and
    /// the latest reply win against what was known).
    public mutating func update(generations: [UInt64: GenerationTraffic], now: Double) {
        for index in entries.indices {
            let change = entries[index].record.change
            if let generation = change.generation, let seen = generations[generation] {
                entries[index].traffic.firstByteToServer = earliest(entries[index].traffic.firstByteToServer, seen.firstByteToServer)
            }
            if let old = change.oldGeneration, let seen = generations[old] {
                entries[index].oldTraffic.lastByteToClient = latest(entries[index].oldTraffic.lastByteToClient, seen.lastByteToClient)
            }
        }
        refresh(now: now)
    }

    /// Attributes wait outcomes to the newest record whose change was under way when they ended
    /// (from its start to `holdTimeout` after its confirmation).
    public mutating func record(_ outcomes: [WaitOutcome], now: Double) {
        var touched = Set<Int>()
        for outcome in outcomes {
            guard let index = entries.lastIndex(where: { entry in
                let change = entry.record.change
                return outcome.endedAt >= change.startedAt
                    && outcome.endedAt <= (change.confirmedAt ?? .infinity) + holdTimeout + Self.firstByteGrace
            }) else { continue }
            touched.insert(index)
            switch outcome.kind {
            case .connected, .timedOut, .abandoned:
                entries[index].record.held.count &+= 1
                if outcome.kind == .timedOut {
                    entries[index].record.held.timedOut &+= 1
                    entries[index].record.refused &+= 1
                }
                if outcome.kind == .abandoned { entries[index].record.held.abandoned &+= 1 }
                if entries[index].waits.count < waitsPerRecord { entries[index].waits.append(outcome.wait) }
                let longest = entries[index].record.held.waitMax ?? 0
                entries[index].record.held.waitMax = max(longest, outcome.wait)
            case .refused:
                entries[index].record.refused &+= 1
            }
        }
        // Only the records that gained waits are sorted again (this runs on an event loop, once a second).
        for index in touched {
            entries[index].record.held.waitP50 = nearestRankPercentile(entries[index].waits, 0.5)
            entries[index].record.held.waitP99 = nearestRankPercentile(entries[index].waits, 0.99)
        }
        refresh(now: now)
    }

    /// Recomputes every open window; settles (and counts in the histogram) the ones that are final.
    private mutating func refresh(now: Double) {
        for index in entries.indices where !entries[index].record.settled {
            var record = entries[index].record
            let change = record.change
            let lastReply = entries[index].oldTraffic.lastByteToClient
            // Writes were available until the old leader stopped answering: after a switchover request
            // it keeps serving until Patroni demotes it; an unplanned change is noticed after the fact.
            var from = change.startedAt
            if let lastReply {
                if let requested = change.switchoverRequestedAt {
                    from = min(max(requested, lastReply), change.leaderChangedAt)
                } else if lastReply <= change.leaderChangedAt && lastReply >= change.leaderChangedAt - Self.lastReplyLookback {
                    from = lastReply
                }
            }
            record.unavailableFrom = from
            record.oldLeaderLastReplyAt = lastReply
            record.firstByteAt = entries[index].traffic.firstByteToServer
            if let confirmed = change.confirmedAt {
                if let first = record.firstByteAt, first <= confirmed + Self.firstByteGrace {
                    record.unavailableUntil = max(first, from)
                    record.unavailableUntilSource = .firstByte
                    record.settled = true
                } else if now > confirmed + Self.firstByteGrace {
                    record.unavailableUntil = max(confirmed, from)
                    record.unavailableUntilSource = .confirmation
                    record.settled = true
                }
            }
            if record.settled, let seconds = record.unavailableSeconds { writeUnavailable.observe(seconds) }
            entries[index].record = record
        }
    }
}

private func earliest(_ a: Double?, _ b: Double?) -> Double? {
    switch (a, b) {
    case (let x?, let y?): min(x, y)
    default: a ?? b
    }
}

private func latest(_ a: Double?, _ b: Double?) -> Double? {
    switch (a, b) {
    case (let x?, let y?): max(x, y)
    default: a ?? b
    }
}
