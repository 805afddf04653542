@testable import Discovery
import SwitchmanCore
import Testing

/// The coordinator's record of each leader change's steps.
struct LeaderChangeLogTests {
    @Test("the first leader after start is discovery, not a failover")
    func firstLeaderIsNotAFailover() {
        var log = LeaderChangeLog()
        log.leaderChanged(from: nil, to: "pg0", at: 1)
        log.confirmed("pg0", generation: 1, at: 1.1)
        #expect(log.changes.isEmpty)
    }

    @Test("a leaderless gap and the switchover request before it make one change with every step's time")
    func gapIsOneChange() {
        var log = LeaderChangeLog()
        log.leaderChanged(from: nil, to: "pg0", at: 1)
        log.switchoverRequested(at: 10)
        log.switchoverRequested(at: 10.5)
        log.lastWritableGeneration = 1
        log.leaderChanged(from: "pg0", to: nil, at: 11)
        log.sessionsClosed(3)
        log.leaderChanged(from: nil, to: "pg1", at: 12)
        log.confirmed("pg1", generation: 2, at: 12.2)
        log.sessionsClosed(1)
        #expect(log.changes == [LeaderChangeFacts(
            id: 1, oldLeader: "pg0", newLeader: "pg1", oldGeneration: 1, generation: 2, switchoverRequestedAt: 10,
            leaderChangedAt: 11, confirmedAt: 12.2, sessionsClosed: 4)])
    }

    @Test("a switchover request that ended without a change is not carried to the next failover")
    func clearedRequestIsForgotten() {
        var log = LeaderChangeLog()
        log.leaderChanged(from: nil, to: "pg0", at: 1)
        log.switchoverRequested(at: 10)
        log.switchoverCleared()
        log.leaderChanged(from: "pg0", to: "pg1", at: 20)
        #expect(log.changes.first?.switchoverRequestedAt == nil)
    }

    @Test("the log keeps its newest changes only")
    func logIsBounded() {
        var log = LeaderChangeLog()
        log.leaderChanged(from: nil, to: "pg0", at: 0)
        for i in 1...(LeaderChangeLog.limit + 5) {
            log.leaderChanged(from: "a", to: "b", at: Double(i))
            log.confirmed("b", generation: UInt64(i), at: Double(i) + 0.1)
        }
        #expect(log.changes.count == LeaderChangeLog.limit)
        #expect(log.changes.last?.id == UInt64(LeaderChangeLog.limit + 5))
    }
}
