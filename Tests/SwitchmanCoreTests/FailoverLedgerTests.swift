import SwitchmanCore
import Testing

/// The failover ledger's bookkeeping: windows, bounded history, held connections' percentiles.
struct FailoverLedgerTests {
    static func change(_ id: UInt64, at t: Double, switchover: Double? = nil, confirmed: Double? = nil) -> LeaderChangeFacts {
        LeaderChangeFacts(id: id, oldLeader: "pg0", newLeader: "pg1", oldGeneration: id * 10, generation: confirmed == nil ? nil : id * 10 + 1,
                          switchoverRequestedAt: switchover, leaderChangedAt: t, confirmedAt: confirmed)
    }

    @Test("the history keeps the newest records up to its capacity, newest first")
    func historyIsBounded() {
        var ledger = FailoverLedger(capacity: 3)
        ledger.update(changes: (1...5).map { Self.change($0, at: Double($0) * 100) }, now: 600)
        #expect(ledger.records.map(\.change.id) == [5, 4, 3])
        // A change the history already dropped does not come back.
        ledger.update(changes: [Self.change(1, at: 100)], now: 600)
        #expect(ledger.records.map(\.change.id) == [5, 4, 3])
    }

    @Test("a switchover's window runs from the old leader's last reply to the first byte to the new leader")
    func switchoverWindow() {
        var ledger = FailoverLedger()
        ledger.update(changes: [Self.change(1, at: 101, switchover: 100, confirmed: 101.5)], now: 101.6)
        ledger.update(generations: [10: GenerationTraffic(lastByteToClient: 100.4), 11: GenerationTraffic(firstByteToServer: 101.52)], now: 101.6)
        let record = try! #require(ledger.records.first)
        #expect(record.unavailableFrom == 100.4)
        #expect(record.unavailableUntil == 101.52)
        #expect(record.unavailableUntilSource == .firstByte)
        #expect(record.settled)
        #expect(abs((record.unavailableSeconds ?? 0) - 1.12) < 1e-9)
        #expect(ledger.writeUnavailable.count == 1)
    }

    @Test("an idle old leader's last reply does not start a switchover's window before the request")
    func idleSwitchoverStartsAtRequest() {
        var ledger = FailoverLedger()
        ledger.update(changes: [Self.change(1, at: 101, switchover: 100)], now: 101)
        ledger.update(generations: [10: GenerationTraffic(lastByteToClient: 90)], now: 101)
        #expect(ledger.records.first?.unavailableFrom == 100)
        #expect(ledger.records.first?.unavailableUntil == nil)
    }

    @Test("an unplanned failover starts at the old leader's last reply, unless that is older than the lookback")
    func failoverStartsAtLastReply() {
        var recent = FailoverLedger()
        recent.update(changes: [Self.change(1, at: 110)], now: 110)
        recent.update(generations: [10: GenerationTraffic(lastByteToClient: 95)], now: 110)
        #expect(recent.records.first?.unavailableFrom == 95)

        var stale = FailoverLedger()
        stale.update(changes: [Self.change(1, at: 110)], now: 110)
        stale.update(generations: [10: GenerationTraffic(lastByteToClient: 110 - FailoverLedger.lastReplyLookback - 1)], now: 110)
        #expect(stale.records.first?.unavailableFrom == 110)
    }

    @Test("with no byte to the new leader within the grace, the window ends at the confirmation, counted once")
    func windowEndsAtConfirmationWithoutClients() {
        var ledger = FailoverLedger()
        ledger.update(changes: [Self.change(1, at: 100, confirmed: 101.5)], now: 101.9)
        #expect(ledger.records.first?.unavailableUntil == nil, "still within the grace: a held client may yet send")
        ledger.update(changes: [Self.change(1, at: 100, confirmed: 101.5)], now: 103)
        #expect(ledger.records.first?.unavailableUntil == 101.5)
        #expect(ledger.records.first?.unavailableUntilSource == .confirmation)
        // A first byte much later is a new client, not the failover's end; a settled window stays.
        ledger.update(generations: [11: GenerationTraffic(firstByteToServer: 200)], now: 200)
        ledger.update(changes: [Self.change(1, at: 100, confirmed: 101.5)], now: 201)
        #expect(ledger.records.first?.unavailableUntil == 101.5)
        #expect(ledger.writeUnavailable.count == 1)
        #expect(ledger.writeUnavailable.sum == 1.5)
    }

    @Test("held connections' waits give nearest-rank p50, p99 and the max")
    func heldPercentiles() {
        var ledger = FailoverLedger()
        ledger.update(changes: [Self.change(1, at: 100, confirmed: 105)], now: 105)
        // Reversed, so the percentiles cannot come out right by arrival order.
        ledger.record((1...100).reversed().map { WaitOutcome(endedAt: 105, wait: Double($0) / 100, kind: .connected) }, now: 106)
        let held = try! #require(ledger.records.first?.held)
        #expect(held.count == 100)
        #expect(held.waitP50 == 0.5)
        #expect(held.waitP99 == 0.99)
        #expect(held.waitMax == 1.0)
        #expect(held.timedOut == 0)
    }

    @Test("timed-out holds count as held, timed out and refused; abandoned ones as held and abandoned; other refusals only as refused")
    func timedOutHolds() {
        var ledger = FailoverLedger(holdTimeout: 30)
        ledger.update(changes: [Self.change(1, at: 100)], now: 100)
        ledger.record([
            WaitOutcome(endedAt: 130, wait: 30, kind: .timedOut),
            WaitOutcome(endedAt: 131, wait: 30.2, kind: .timedOut),
            WaitOutcome(endedAt: 102, wait: 0.1, kind: .refused),
            WaitOutcome(endedAt: 104, wait: 4, kind: .connected),
            WaitOutcome(endedAt: 105, wait: 5, kind: .abandoned),
        ], now: 131)
        let record = try! #require(ledger.records.first)
        #expect(record.held.count == 4)
        #expect(record.held.timedOut == 2)
        #expect(record.held.abandoned == 1)
        #expect(record.refused == 3)
        #expect(record.held.waitMax == 30.2)
    }

    @Test("waits that end before a change starts or after its hold timeout past the confirmation belong to no failover")
    func waitsOutsideAnyWindow() {
        var ledger = FailoverLedger(holdTimeout: 10)
        ledger.update(changes: [Self.change(1, at: 100, switchover: 99, confirmed: 101)], now: 101)
        ledger.record([
            WaitOutcome(endedAt: 98.9, wait: 1, kind: .connected),
            WaitOutcome(endedAt: 99, wait: 1, kind: .connected),
            WaitOutcome(endedAt: 101 + 10 + FailoverLedger.firstByteGrace + 0.1, wait: 1, kind: .connected),
        ], now: 120)
        #expect(ledger.records.first?.held.count == 1)
    }

    @Test("a wait is attributed to the newest change under way when it ended")
    func waitsGoToTheNewestChange() {
        var ledger = FailoverLedger(holdTimeout: 30)
        ledger.update(changes: [Self.change(1, at: 100, confirmed: 101), Self.change(2, at: 110, confirmed: 111)], now: 112)
        ledger.record([WaitOutcome(endedAt: 105, wait: 1, kind: .connected), WaitOutcome(endedAt: 111, wait: 1, kind: .connected)], now: 112)
        #expect(ledger.records.map(\.held.count) == [1, 1])
    }

    @Test("beyond the waits kept per record, counts and the max stay exact")
    func waitsPerRecordBound() {
        var ledger = FailoverLedger(waitsPerRecord: 10)
        ledger.update(changes: [Self.change(1, at: 100)], now: 100)
        ledger.record((1...20).map { WaitOutcome(endedAt: 101, wait: Double($0), kind: .connected) }, now: 101)
        #expect(ledger.records.first?.held.count == 20)
        #expect(ledger.records.first?.held.waitMax == 20)
        #expect(ledger.records.first?.held.waitP99 == 10, "percentiles come from the first waits kept")
    }
}

/// The fixed-bucket histogram and the series ring.
struct LatencyHistogramTests {
    @Test("an observation on a bound counts in that bound's bucket; cumulative counts end at the total")
    func bucketsAreInclusiveAndCumulative() {
        var h = LatencyHistogram(bounds: [0.1, 1, 10])
        for v in [0.1, 0.5, 1, 11, -3] { h.observe(v) }
        #expect(h.buckets == [2, 2, 0, 1])
        #expect(h.cumulative == [2, 4, 4, 5])
        #expect(h.count == 5)
        #expect(h.sum == 12.6)
    }

    @Test("merging adds buckets, count and sum")
    func merge() {
        var a = LatencyHistogram(bounds: [1])
        var b = LatencyHistogram(bounds: [1])
        a.observe(0.5)
        b.observe(2)
        b.observe(3)
        a.merge(b)
        #expect(a.buckets == [1, 2])
        #expect(a.count == 3)
        #expect(a.sum == 5.5)
    }

    @Test("nearest-rank percentiles of small sets")
    func percentiles() {
        #expect(nearestRankPercentile([], 0.5) == nil)
        #expect(nearestRankPercentile([3], 0.99) == 3)
        #expect(nearestRankPercentile([4, 1, 3, 2], 0.5) == 2)
        #expect(nearestRankPercentile([4, 1, 3, 2], 0.99) == 4)
    }

    @Test("the series ring keeps the last points, oldest first")
    func seriesRingIsBounded() {
        var ring = SeriesRing(capacity: 3)
        for t in 1...5 { ring.append(SeriesPoint(time: Double(t))) }
        #expect(ring.points.map(\.time) == [3, 4, 5])
        var short = SeriesRing(capacity: 3)
        short.append(SeriesPoint(time: 1))
        #expect(short.points.map(\.time) == [1])
    }
}
