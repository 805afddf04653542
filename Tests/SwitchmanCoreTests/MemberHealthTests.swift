import Testing
@testable import SwitchmanCore

/// The SQL check's row, lag measured from it, and the damped admission of a lagging replica.
struct MemberReadingTests {
    @Test func aReplicaRowReadsEveryColumn() throws {
        let row: [String?] = ["t", nil, "0/3000148", "0/3000060", "1700000000.25", "1700000003.5", "f", "streaming"]
        let reading = try #require(MemberReading(row: row))
        #expect(reading.inRecovery)
        #expect(reading.currentLSN == nil)
        #expect(reading.receiveLSN == 0x300_0148)
        #expect(reading.replayLSN == 0x300_0060)
        #expect(reading.replayTimestamp == 1_700_000_000.25)
        #expect(reading.serverTime == 1_700_000_003.5)
        #expect(!reading.replayPaused)
        #expect(reading.isStreaming)
    }

    @Test func aPrimaryRowHasOnlyItsCurrentPosition() throws {
        let reading = try #require(MemberReading(row: ["f", "1/A0", nil, nil, nil, "1700000000", "f", nil]))
        #expect(!reading.inRecovery)
        #expect(reading.currentLSN == 1 << 32 | 0xA0)
        #expect(reading.replayLSN == nil && reading.walReceiverStatus == nil && !reading.isStreaming)
    }

    @Test(arguments: [
        ["t"], ["x", nil, nil, nil, nil, "1", "f", nil], ["t", nil, "zz/1", nil, nil, "1", "f", nil],
        ["t", nil, nil, nil, "soon", "1", "f", nil], ["t", nil, nil, nil, nil, nil, "f", nil],
    ] as [[String?]])
    func aRowThatIsNotTheCheckQuerysIsRefusedWhole(_ row: [String?]) {
        #expect(MemberReading(row: row) == nil)
    }

    @Test func lsnTextRoundTrips() {
        #expect(LSN.parse("0/0") == 0)
        #expect(LSN.parse("16/B374D848") == 0x16_B374_D848)
        #expect(LSN.format(0x16_B374_D848) == "16/B374D848")
        #expect(LSN.parse("1/") == nil && LSN.parse("/1") == nil && LSN.parse("123456789/0") == nil && LSN.parse("1/2/3") == nil)
    }
}

struct ReplicaLagTests {
    private func replica(replay: UInt64?, replayedAt: Double?, now: Double = 1000) -> MemberReading {
        MemberReading(inRecovery: true, receiveLSN: replay, replayLSN: replay, replayTimestamp: replayedAt, serverTime: now)
    }

    @Test func aCaughtUpReplicaOfAnIdlePrimaryHasNoLagHoweverOldItsLastTransaction() {
        let lag = ReplicaLag.measure(replica(replay: 5000, replayedAt: 10), reference: 5000, earlierReference: 5000)
        #expect(lag == ReplicaLag(bytes: 0, seconds: 0))
    }

    @Test func walWrittenBetweenTheTwoReadsIsBytesButNotTime() {
        // The primary wrote a checkpoint record after the replica's read: replay is level with the
        // primary's earlier position, so the hour-old last transaction is not lag.
        let lag = ReplicaLag.measure(replica(replay: 5000, replayedAt: 1000 - 3600), reference: 5200, earlierReference: 5000)
        #expect(lag == ReplicaLag(bytes: 200, seconds: 0))
    }

    @Test func replayBehindThePrimaryCountsTimeSinceTheLastReplayedTransaction() {
        let lag = ReplicaLag.measure(replica(replay: 5000, replayedAt: 988, now: 1000), reference: 9000, earlierReference: 8000)
        #expect(lag == ReplicaLag(bytes: 4000, seconds: 12))
    }

    @Test func replayJustBehindAfterALongIdleSpellIsTheTimeSinceThePrimaryWasLevelNotTheLastCommitsAge() {
        let second: UInt64 = 1_000_000_000
        // The primary sat at 5000 for an hour (samples every second), then wrote: the replica, level
        // until a second ago, has replayed nothing new yet; its last transaction is an hour old.
        let history = (0..<3600).map { LSNSample(lsn: 5000, at: UInt64($0) * second) } + [LSNSample(lsn: 9000, at: 3600 * second)]
        let lag = ReplicaLag.measure(replica(replay: 5000, replayedAt: 1000 - 3600), reference: 9000, earlierReference: 9000,
                                     history: history, readAt: 3600 * second + second / 2)
        #expect(lag.bytes == 4000)
        #expect(lag.seconds == 1.5)
        // Behind every sample kept: the last commit's age is all there is.
        let far = ReplicaLag.measure(replica(replay: 100, replayedAt: 1000 - 7200), reference: 9000, earlierReference: 9000,
                                     history: history, readAt: 3601 * second)
        #expect(far.seconds == 7200)
    }

    @Test func noReplayedTransactionWhileBehindIsUnknownNotInfinite() {
        let lag = ReplicaLag.measure(replica(replay: 5000, replayedAt: nil), reference: 9000, earlierReference: 8000)
        #expect(lag.bytes == 4000 && lag.seconds == nil)
        #expect(LagLimit(time: .seconds(5)).excess(lag) == "replay lag unknown (no transaction replayed yet)")
        #expect(LagLimit(bytes: 1 << 20).excess(lag) == nil)
    }

    @Test func noPrimaryPositionMeansUnknownLag() {
        #expect(ReplicaLag.measure(replica(replay: 5000, replayedAt: 1), reference: nil, earlierReference: nil) == ReplicaLag())
    }

    @Test func aLimitNamesTheFigureThatIsOver() {
        let both = LagLimit(bytes: 16 << 20, time: .seconds(5))
        #expect(both.excess(ReplicaLag(bytes: 20 << 20, seconds: 1)) == "lag 20MB > 16MB")
        #expect(both.excess(ReplicaLag(bytes: 0, seconds: 7.25)) == "replay lag 7.3s > 5s")
        #expect(both.excess(ReplicaLag(bytes: 16 << 20, seconds: 5)) == nil)
        #expect(both.readmitThreshold == LagLimit(bytes: 8 << 20, time: .milliseconds(2500)))
        #expect(both.description == "16MB, 5s")
    }
}

struct ReadAdmissionTests {
    private let limit = LagLimit(bytes: 1000)
    private let second: UInt64 = 1_000_000_000

    @Test func theFirstMeasurementWithinTheLimitAdmitsAtOnce() {
        var admission = ReadAdmission()
        #expect(admission.admitted == nil)
        let changed = admission.observe(ReplicaLag(bytes: 900), limit: limit, rise: 2, minDwell: .seconds(10), now: 0)
        #expect(changed)
        #expect(admission.admitted == true && admission.changes == 0)
    }

    @Test func overTheLimitExcludesAtOnceAndComesBackOnlyAfterRiseChecksSpanningMinDwellUnderHalf() {
        var admission = ReadAdmission()
        admission.observe(ReplicaLag(bytes: 0), limit: limit, rise: 2, minDwell: .seconds(10), now: 0)
        let out = admission.observe(ReplicaLag(bytes: 1001), limit: limit, rise: 2, minDwell: .seconds(10), now: 1 * second)
        #expect(out)
        #expect(admission.admitted == false && admission.reason == "lag 1001B > 1000B")
        // Under the limit but above half of it: still out, and the steady count does not start.
        admission.observe(ReplicaLag(bytes: 600), limit: limit, rise: 2, minDwell: .seconds(10), now: 2 * second)
        #expect(admission.admitted == false)
        #expect(admission.reason?.contains("above re-admit threshold") == true)
        for tick in 3...12 {
            admission.observe(ReplicaLag(bytes: 100), limit: limit, rise: 2, minDwell: .seconds(10), now: UInt64(tick) * second)
            #expect(admission.admitted == false, "re-admitted after \(tick - 3) s of steady checks")
        }
        let back = admission.observe(ReplicaLag(bytes: 100), limit: limit, rise: 2, minDwell: .seconds(10), now: 13 * second)
        #expect(back)
        #expect(admission.admitted == true && admission.reason == nil && admission.changes == 2)
    }

    @Test func aReplicaThatStopsAndStartsEveryTwoSecondsStaysOutInsteadOfFlapping() {
        var admission = ReadAdmission()
        var changes = 0
        for tick in 0..<60 {
            let lagging = (tick / 2) % 2 == 1
            let lag = ReplicaLag(bytes: lagging ? 5000 : 0)
            if admission.observe(lag, limit: limit, rise: 2, minDwell: .seconds(10), now: UInt64(tick) * second) { changes += 1 }
        }
        // In at the first check, out at the first pause, and never steady for 10 s after that.
        #expect(changes == 2)
        #expect(admission.admitted == false)
    }

    @Test func checksCountAsHAProxyCountsThem() {
        var streak = CheckStreak()
        let first = streak.failed("refused", fall: 3)
        let second = streak.failed("refused", fall: 3)
        let third = streak.failed("refused", fall: 3)
        #expect(!first && !second && third)
        #expect(!streak.passing && streak.lastError == "refused" && streak.failuresTotal == 3)
        let once = streak.succeeded(rise: 2)
        let twice = streak.succeeded(rise: 2)
        #expect(!once && twice)
        #expect(streak.passing && streak.lastError == nil)
    }
}

struct HealthPictureTests {
    private let listeners = [
        ListenerConfiguration(name: "reads", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica, maxLag: LagLimit(bytes: 1 << 20)),
        ListenerConfiguration(name: "any", bind: Endpoint(host: "127.0.0.1", port: 1), role: .replica),
    ]

    private func primary(_ lsn: UInt64) -> CheckOutcome {
        .reading(MemberReading(inRecovery: false, currentLSN: lsn, serverTime: 1000))
    }

    private func replica(_ replay: UInt64) -> CheckOutcome {
        .reading(MemberReading(inRecovery: true, receiveLSN: replay, replayLSN: replay, replayTimestamp: 999, serverTime: 1000,
                               walReceiverStatus: "streaming"))
    }

    @Test func aReplicaIsMeasuredAgainstTheLeadersOwnPositionAndAdmittedOnlyWhereALimitIsSet() {
        var picture = HealthPicture()
        _ = picture.record(primary(10 << 20), member: "pg-0", duration: 0.001, leader: "pg-0", listeners: listeners, now: 0, wallTime: 0)
        let notices = picture.record(replica(5 << 20), member: "pg-1", duration: 0.001, leader: "pg-0", listeners: listeners, now: 1, wallTime: 0)
        #expect(picture.members["pg-1"]?.lag?.bytes == 5 << 20)
        #expect(picture.admission(listener: "reads", member: "pg-1")?.admitted == false)
        #expect(picture.admission(listener: "any", member: "pg-1") == nil)
        #expect(notices == [.admission(listener: "reads", member: "pg-1", admitted: false, reason: "lag 5MB > 1MB")])
    }

    @Test func theLeaderInRecoveryAndANonLeaderOutOfItAreReported() {
        var picture = HealthPicture()
        let leader = picture.record(replica(1), member: "pg-0", duration: 0, leader: "pg-0", listeners: [], now: 0, wallTime: 0)
        #expect(leader == [.leaderInRecovery(member: "pg-0")])
        let rogue = picture.record(primary(1), member: "pg-1", duration: 0, leader: "pg-0", listeners: [], now: 0, wallTime: 0)
        #expect(rogue == [.splitBrain(member: "pg-1", leader: "pg-0", ongoing: true)])
        #expect(picture.record(primary(2), member: "pg-1", duration: 0, leader: "pg-0", listeners: [], now: 0, wallTime: 0) == [])
        #expect(picture.splitBrainsTotal == 1)
        let over = picture.record(replica(2), member: "pg-1", duration: 0, leader: "pg-0", listeners: [], now: 0, wallTime: 0)
        #expect(over == [.splitBrain(member: "pg-1", leader: "pg-0", ongoing: false)])
    }

    @Test func failingChecksAreReportedOnceAtFall() {
        var picture = HealthPicture(counting: CheckCounting(rise: 1, fall: 2))
        #expect(picture.record(.failed("refused"), member: "pg-1", duration: 0, leader: nil, listeners: [], now: 0, wallTime: 0) == [])
        #expect(picture.record(.failed("refused"), member: "pg-1", duration: 0, leader: nil, listeners: [], now: 0, wallTime: 0)
            == [.checkFailing(member: "pg-1", error: "refused")])
        #expect(picture.record(.failed("refused"), member: "pg-1", duration: 0, leader: nil, listeners: [], now: 0, wallTime: 0) == [])
        #expect(picture.record(replica(1), member: "pg-1", duration: 0, leader: nil, listeners: [], now: 0, wallTime: 0)
            == [.checkPassing(member: "pg-1")])
    }
}

/// The replica rules that need Switchman's own checks, or Patroni's vocabulary for read pools.
struct ReplicaPoolPlannerTests {
    private static let position: UInt64 = 100 << 20

    private func member(_ name: String, role: MemberRole = .replica, tags: MemberTags = MemberTags(),
                        replication: String? = "streaming") -> (String, MemberEntry) {
        (name, .valid(ClusterMember(
            name: name, endpoint: Endpoint(host: "127.0.0.1", port: 5432 + UInt16(name.last?.wholeNumberValue ?? 0)), role: role,
            state: "running", xlogLocation: Self.position, replicationState: replication, tags: tags)))
    }

    private func topology(_ members: [(String, MemberEntry)], sync: [String] = []) -> Topology {
        Topology(scope: "demo", leaderName: "pg-0", members: Dictionary(uniqueKeysWithValues: members), leaderOptime: Self.position,
                 syncLeader: "pg-0", syncStandbys: sync)
    }

    private func rows(_ listener: ListenerConfiguration, _ topology: Topology, health: HealthPicture? = nil) -> [String: MemberEligibility] {
        var generations = RouteGenerations()
        let plan = RoutePlanner.plan(listeners: [listener], topology: topology, promotion: PromotionState(confirmedLeader: "pg-0"),
                                     health: health, generations: &generations)
        return Dictionary(uniqueKeysWithValues: (plan.eligibility[listener.name] ?? []).map { ($0.member, $0) })
    }

    private func listener(maxLag: LagLimit? = nil, requireStreaming: Bool = false, syncOnly: Bool = false,
                          tags: [String: String] = [:]) -> ListenerConfiguration {
        ListenerConfiguration(name: "reads", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica, maxLag: maxLag,
                              requireStreaming: requireStreaming, syncOnly: syncOnly, tags: tags)
    }

    private func checked(_ outcomes: [(String, CheckOutcome)], listeners: [ListenerConfiguration]) -> HealthPicture {
        var picture = HealthPicture(counting: CheckCounting(rise: 1, fall: 1))
        for (name, outcome) in outcomes {
            _ = picture.record(outcome, member: name, duration: 0, leader: "pg-0", listeners: listeners, now: 0, wallTime: 0)
        }
        return picture
    }

    @Test func aReplicaAnsweringOutOfRecoveryIsSplitBrainAndGetsNoReads() {
        let cluster = topology([member("pg-0", role: .primary), member("pg-1"), member("pg-2")])
        let health = checked([("pg-1", .reading(MemberReading(inRecovery: false, currentLSN: 1, serverTime: 1)))], listeners: [])
        let rows = rows(listener(), cluster, health: health)
        #expect(rows["pg-1"]?.status == .excluded)
        #expect(rows["pg-1"]?.reason == "split brain: answers not in recovery, but the leader znode names pg-0")
        #expect(rows["pg-2"]?.status == .up)
    }

    @Test func aReplicaWhoseCheckFailsIsDownWithTheCheckError() {
        let cluster = topology([member("pg-0", role: .primary), member("pg-1")])
        let rows = rows(listener(), cluster, health: checked([("pg-1", .failed("password authentication failed"))], listeners: []))
        #expect(rows["pg-1"] == MemberEligibility(member: "pg-1", status: .down, reason: "SQL check failing: password authentication failed"))
    }

    @Test func aLaggingReplicaIsOutWithItsMeasuredLagAndItsSessionsDrain() {
        let reads = listener(maxLag: LagLimit(bytes: 1 << 20))
        let cluster = topology([member("pg-0", role: .primary), member("pg-1"), member("pg-2")])
        let health = checked([
            ("pg-0", .reading(MemberReading(inRecovery: false, currentLSN: 50 << 20, serverTime: 1))),
            ("pg-1", .reading(MemberReading(inRecovery: true, replayLSN: 20 << 20, replayTimestamp: 0, serverTime: 1))),
            ("pg-2", .reading(MemberReading(inRecovery: true, replayLSN: 50 << 20, replayTimestamp: 0, serverTime: 1))),
        ], listeners: [reads])
        var generations = RouteGenerations()
        _ = RoutePlanner.plan(listeners: [reads], topology: cluster, promotion: PromotionState(confirmedLeader: "pg-0"),
                              generations: &generations)
        let plan = RoutePlanner.plan(listeners: [reads], topology: cluster, promotion: PromotionState(confirmedLeader: "pg-0"),
                                     health: health, generations: &generations)
        let rows = Dictionary(uniqueKeysWithValues: (plan.eligibility["reads"] ?? []).map { ($0.member, $0) })
        #expect(rows["pg-1"] == MemberEligibility(member: "pg-1", status: .excluded, reason: "lag 30MB > 1MB"))
        #expect(rows["pg-2"]?.status == .up)
        #expect(plan.routes["reads"]?.servers.map(\.name) == ["pg-2"])
        #expect(plan.routes["reads"]?.draining.map(\.name) == ["pg-1"])
    }

    @Test func aReplicaWithoutAMeasurementYetIsOutOfALagLimitedPool() {
        let rows = rows(listener(maxLag: LagLimit(time: .seconds(5))), topology([member("pg-0", role: .primary), member("pg-1")]),
                        health: HealthPicture())
        #expect(rows["pg-1"] == MemberEligibility(member: "pg-1", status: .excluded, reason: "lag not measured yet"))
    }

    @Test func requireStreamingUsesTheChecksReceiverAndZooKeeperUntilThen() {
        let cluster = topology([member("pg-0", role: .primary), member("pg-1"), member("pg-2", replication: "in archive recovery")])
        let before = rows(listener(requireStreaming: true), cluster)
        #expect(before["pg-1"]?.status == .up)
        #expect(before["pg-2"]?.reason == "not streaming (in archive recovery; require_streaming)")
        let health = checked([("pg-1", .reading(MemberReading(inRecovery: true, replayLSN: 1, serverTime: 1, walReceiverStatus: nil)))],
                             listeners: [])
        #expect(rows(listener(requireStreaming: true), cluster, health: health)["pg-1"]?.reason
            == "not streaming (no WAL receiver; require_streaming)")
    }

    @Test func aStandbyClustersLeaderServesReadsBesideItsReplicas() {
        let cluster = topology([member("pg-0", role: .standbyLeader), member("pg-1")])
        var generations = RouteGenerations()
        let plan = RoutePlanner.plan(
            listeners: [listener(), ListenerConfiguration(name: "writes", bind: Endpoint(host: "127.0.0.1", port: 1), role: .primary)],
            topology: cluster, promotion: PromotionState(confirmedLeader: "pg-0"), generations: &generations)
        #expect(plan.routes["reads"]?.servers.map(\.name) == ["pg-0", "pg-1"])
        #expect(plan.routes["writes"]?.servers == [])
    }

    @Test func syncOnlyAndTagsNarrowThePool() {
        let cluster = topology(
            [member("pg-0", role: .primary), member("pg-1", tags: MemberTags(other: ["dc": "east"])),
             member("pg-2", tags: MemberTags(other: ["dc": "west"]))], sync: ["pg-2"])
        let sync = rows(listener(syncOnly: true), cluster)
        #expect(sync["pg-1"]?.reason == "not a synchronous standby (sync_only)")
        #expect(sync["pg-2"]?.status == .up)
        let east = rows(listener(tags: ["dc": "east"]), cluster)
        #expect(east["pg-1"]?.status == .up)
        #expect(east["pg-2"]?.reason == "tag dc=west, wanted east")
        #expect(rows(listener(tags: ["nosync": "false"]), cluster)["pg-1"]?.status == .up)
    }
}
