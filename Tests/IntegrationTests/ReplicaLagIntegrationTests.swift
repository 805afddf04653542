import Foundation
import Testing

/// Switchman's own checks make the read port right where ZooKeeper cannot: a replica whose replay is
/// paused keeps writing the same `xlog_location` (max(received, replayed)) once per `loop_wait`, so
/// only an SQL check sees it fall behind. The `fresh-replicas` listener has `max_lag: [16MB, 5s]`
/// and `fallback: primary`; the suite's `min_dwell` is 3 s.
extension ClusterIntegrationTests {
    @Test("a replica whose replay is paused while ~30 MB are written leaves the lag-limited read port (reads go to the primary, its open session stays) and comes back once replay resumes; an idle primary does not exclude it",
          .timeLimit(.minutes(3)))
    func pausedReplayLeavesTheLagLimitedReadPortAndResumedReplayBringsItBack() async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let leader = try await fixture.healthyLeader()
        let replica = fixture.cluster.other(than: leader)
        try await switchman.waitForStats("the lag-limited read port to route to \(replica.name)") {
            $0.listener("fresh-replicas")?.route.servers == [replica.name]
        }
        // A session opened through the read port before replay stops: it must outlive the exclusion.
        let early = try PGConnection(port: switchman.laggedReplicaPort)
        #expect(try early.whereAmI().port == replica.pgPort)

        let direct = try PGConnection(port: replica.pgPort)
        _ = try direct.query("select pg_wal_replay_pause()")
        var resumed = false
        defer { if !resumed { _ = try? direct.query("select pg_wal_replay_resume()") } }
        let primary = try PGConnection(port: leader.pgPort)
        _ = try primary.query("drop table if exists it_lag")
        _ = try primary.query("create table it_lag as select g, repeat('x', 1000) as pad from generate_series(1, 30000) g")

        let excluded = try await switchman.waitForStats("\(replica.name) to leave the lag-limited read port", timeout: .seconds(30)) {
            $0.listener("fresh-replicas")?.route.servers == [leader.name]
        }
        let reason = excluded.member(replica.name)?.statusReason ?? ""
        #expect(reason.contains("fresh-replicas: ") && reason.contains("lag"), "reason: \(reason)")
        #expect((excluded.member(replica.name)?.lagBytes ?? 0) > 16 << 20, "measured lag \(String(describing: excluded.member(replica.name)?.lagBytes))")
        // The read port without max_lag still routes to it: no lag limit, no exclusion.
        #expect(excluded.listener("replicas")?.route.servers == [replica.name])
        var ports: [Int] = []
        for _ in 0..<6 {
            let session = try PGConnection(port: switchman.laggedReplicaPort)
            ports.append(try session.whereAmI().port)
        }
        #expect(ports == Array(repeating: leader.pgPort, count: 6), "new sessions reached ports \(ports), not the primary \(leader.pgPort)")
        #expect(try early.value("select 1") == "1", "the session opened before the exclusion was closed")

        _ = try direct.query("select pg_wal_replay_resume()")
        resumed = true
        let back = ContinuousClock.now
        try await switchman.waitForStats("\(replica.name) to come back to the lag-limited read port", timeout: .seconds(60)) {
            $0.listener("fresh-replicas")?.route.servers == [replica.name]
        }
        let returnedAfter = seconds(back, .now)
        #expect(try PGConnection(port: switchman.laggedReplicaPort).whereAmI().port == replica.pgPort)
        // Idle primary, caught-up replica: longer than the 5 s time limit, and it stays in.
        try await Task.sleep(for: .seconds(7))
        let idle = try await switchman.stats()
        #expect(idle.listener("fresh-replicas")?.route.servers == [replica.name],
                "an idle primary excluded a caught-up replica: \(idle.member(replica.name)?.statusReason ?? "")")
        #expect(idle.member(replica.name)?.lagSeconds == 0)
        _ = try primary.query("drop table it_lag")
        print("[integration] paused replay: \(replica.name) excluded with \"\(reason)\"; back \(format(returnedAfter)) s after replay resumed (min_dwell 3 s)")
    }
}
