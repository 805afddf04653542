import Foundation
import Testing

/// The seed's failover exercise, automated: a real ZooKeeper and two Patroni/PostgreSQL 15 nodes on
/// loopback (scripts/local-cluster.sh), Switchman (the debug binary) in front, libpq clients.
///
/// One cluster serves the whole suite, so its tests run one at a time; each starts by waiting until the
/// cluster is healthy (one leader, a sync standby) and leaves it healthy for the next. Time bounds are
/// generous: they only catch hangs; the timings themselves go to bench/failover.sh.
@Suite("Switchman in front of a real Patroni cluster", .serialized, .localCluster)
struct ClusterIntegrationTests {
    /// Rows the writers insert; `id` is unique per scenario (each has its own id range).
    static let table = "it_writes"

    init() throws {
        // Every scenario needs the fixture; fail each test clearly if the suite's scope did not start it.
        _ = try ClusterFixture.required()
    }

    // MARK: - 1. Routing

    @Test("writes through the primary port land on the leader, reads through the read port on the replica",
          .timeLimit(.minutes(3)))
    func primaryPortReachesLeaderAndReadPortReachesReplica() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let replica = fixture.cluster.other(than: leader)
        try await fixture.switchman.waitForStats("the read port to route to \(replica.name)") {
            $0.listener("replicas")?.route.servers == [replica.name]
        }
        try createTable(on: leader)

        let writer = try PGConnection(port: fixture.switchman.primaryPort)
        let written = try writer.whereAmI()
        #expect(written.inRecovery == false, "the primary port reached a node in recovery")
        #expect(written.port == leader.pgPort, "the primary port reached port \(written.port), not the leader \(leader.name) (\(leader.pgPort))")
        try writer.query("insert into \(Self.table)(id) values (1) on conflict do nothing")

        for _ in 0..<5 {
            let reader = try PGConnection(port: fixture.switchman.replicaPort)
            let read = try reader.whereAmI()
            #expect(read.inRecovery == true, "the read port reached a node not in recovery")
            #expect(read.port == replica.pgPort, "the read port reached port \(read.port), not the replica \(replica.name) (\(replica.pgPort))")
        }
        // synchronous_mode: the commit returned once the sync standby had the row; it is replayed shortly
        let reader = try PGConnection(port: fixture.switchman.replicaPort)
        try await waitUntil("the row to be readable through the read port", timeout: .seconds(30)) {
            try reader.value("select count(*) from \(Self.table) where id = 1") == "1" ? true : nil
        }
    }

    // MARK: - 2, 3. Graceful stop and crash of the leader

    @Test("graceful stop of the leader: writes resume on the new leader, none lost or sent to a read-only node; the node rejoins as a replica",
          .timeLimit(.minutes(4)))
    func gracefulStopOfLeader() async throws {
        try await failover(.stop, idBase: 20_000_000)
    }

    @Test("crash of the leader: writes resume on the new leader, none lost or sent to a read-only node; the node rejoins as a replica",
          .timeLimit(.minutes(4)))
    func crashOfLeader() async throws {
        try await failover(.crash, idBase: 30_000_000)
    }

    enum Disruption: String {
        case stop = "graceful stop"
        case crash
    }

    /// A writer commits a row every 50 ms through the primary port while the leader goes away; then the
    /// old leader is started again and must rejoin as a replica that the read port uses.
    func failover(_ disruption: Disruption, idBase: Int) async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let old = try await fixture.healthyLeader()
        let new = fixture.cluster.other(than: old)
        try createTable(on: old)
        let before = try await switchman.stats()

        // An idle session through the primary port: it must not survive on the old leader.
        let idle = try PGConnection(port: switchman.primaryPort)
        #expect(try idle.whereAmI().port == old.pgPort)

        let writer = Writer(port: switchman.primaryPort, table: Self.table, idBase: idBase)
        writer.start()
        try await waitUntil("the writer to commit on \(old.name)", timeout: .seconds(30)) {
            writer.report.acknowledged(on: old.pgPort).count >= 10 ? true : nil
        }
        let started = ContinuousClock.now
        switch disruption {
        case .stop: try await fixture.cluster.stopNode(old)
        case .crash: try await fixture.cluster.killNode(old)
        }
        let resumed: ContinuousClock.Instant
        do {
            resumed = try await waitUntil("writes through Switchman to reach \(new.name)", timeout: .seconds(90)) {
                writer.report.acknowledged(on: new.pgPort).isEmpty ? nil : ContinuousClock.now
            }
        } catch {
            let report = try await writer.stop()
            Issue.record("\(error); writer failures: \(report.failureSummary); Switchman log:\n\(switchman.log().suffix(3000))")
            return
        }
        let after = try await switchman.waitForStats("Switchman to route writes to \(new.name)") { $0.routesWrites(to: new.name) }
        // Keep writing a while: Patroni rewrites the new leader's member znode ~1 s after the promotion.
        try await Task.sleep(for: .seconds(3))
        let report = try await writer.stop()

        try checkWrites(report, old: old, new: new, what: disruption.rawValue)
        try checkAcknowledgedRowsPresent(report, on: new)
        #expect(throws: PGError.self, "the idle session through the primary port survived on the old leader \(old.name)") {
            try idle.query("select 1")
        }
        let finalStats = try await switchman.stats()
        #expect((finalStats.member(old.name)?.sessions.current ?? 0) == 0,
                "Switchman still has sessions open to the old leader \(old.name)")
        #expect(switchman.log().contains("leader \(new.name) confirmed writable"),
                "no 'confirmed writable' log line for \(new.name)")
        let change = after.events.first { $0.leaderChange?.newLeader == new.name }?.leaderChange
        let stale = (after.listener("primary")?.staleSessionsClosed ?? 0) - (before.listener("primary")?.staleSessionsClosed ?? 0)
        print("""
            [integration] \(disruption.rawValue) of \(old.name): writes on \(new.name) \(format(seconds(started, resumed))) s after the \
            \(disruption == .stop ? "SIGTERM" : "SIGKILL"); longest gap between commits \(format(report.longestGap)) s; \
            time to confirmation \(change?.timeToConfirmation.map(format) ?? "?") s; stale sessions closed \(stale); \
            \(report.acknowledged.count) commits, failures: \(report.failureSummary)
            """)

        try await fixture.cluster.startNode(old)
        try await rejoinsAsReplica(old, leader: new)
    }

    // MARK: - 4. Switchover

    @Test("switchover: no write reaches the demoted node; connections opened during it are held, then connected to the new leader",
          .timeLimit(.minutes(4)))
    func switchover() async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let old = try await fixture.healthyLeader()
        let new = fixture.cluster.other(than: old)
        try createTable(on: old)

        let writer = Writer(port: switchman.primaryPort, table: Self.table, idBase: 40_000_000)
        let opener = Writer(port: switchman.primaryPort, table: Self.table, idBase: 41_000_000,
                            interval: .milliseconds(100), freshConnections: true)
        writer.start()
        opener.start()
        try await waitUntil("both clients to commit on \(old.name)", timeout: .seconds(30)) {
            writer.report.acknowledged(on: old.pgPort).count >= 10 && opener.report.acknowledged(on: old.pgPort).count >= 5 ? true : nil
        }
        let started = ContinuousClock.now
        let answer = try await fixture.cluster.switchover(to: new)
        let resumed: ContinuousClock.Instant
        do {
            resumed = try await waitUntil("writes through Switchman to reach \(new.name)", timeout: .seconds(90)) {
                !writer.report.acknowledged(on: new.pgPort).isEmpty && !opener.report.acknowledged(on: new.pgPort).isEmpty
                    ? ContinuousClock.now : nil
            }
        } catch {
            let (w, o) = (try await writer.stop(), try await opener.stop())
            Issue.record("\(error) after '\(answer)'; writer failures: \(w.failureSummary); new connections: \(o.failureSummary)")
            return
        }
        try await switchman.waitForStats("Switchman to route writes to \(new.name)") { $0.routesWrites(to: new.name) }
        try await Task.sleep(for: .seconds(3))
        let report = try await writer.stop()
        let opened = try await opener.stop()

        try checkWrites(report, old: old, new: new, what: "switchover")
        try checkWrites(opened, old: old, new: new, what: "switchover (a new connection per write)")
        try checkAcknowledgedRowsPresent(report, on: new)
        try checkAcknowledgedRowsPresent(opened, on: new)
        // New connections during the switchover succeed: each one either commits, or (known gap, see
        // checkWrites) reaches the old leader as it shuts down, before writes move.
        let known = Set(opened.startupFailures.map(\.id))
        let unexplained = opened.failures.filter { !known.contains($0.id) }
        #expect(unexplained.isEmpty, "connections opened during the switchover failed: \(WriterReport(attempts: unexplained).failureSummary)")
        let held = opened.acknowledged.filter { ($0.connectSeconds ?? 0) > 0.1 && $0.serverPort == new.pgPort }
        #expect(!held.isEmpty, "no connection opened during the switchover was held (connect > 0.1 s) and then connected to \(new.name)")
        print("""
            [integration] switchover \(old.name) → \(new.name): writes on \(new.name) \(format(seconds(started, resumed))) s after the \
            request; longest gap \(format(report.longestGap)) s; longest held connect \
            \(format(opened.acknowledged.compactMap(\.connectSeconds).max() ?? 0)) s; writer failures: \(report.failureSummary); \
            new connections: \(opened.attempts.count), failures: \(opened.failureSummary)
            """)

        // After a switchover Patroni restarts the demoted node as a replica by itself.
        try await rejoinsAsReplica(old, leader: new)
    }

    // MARK: - 5. ZooKeeper restart

    @Test("ZooKeeper restarted within the session timeout: writes keep flowing and the picture resyncs",
          .timeLimit(.minutes(3)))
    func zooKeeperRestart() async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let leader = try await fixture.healthyLeader()
        try createTable(on: leader)
        let before = try await switchman.stats()
        let writer = Writer(port: switchman.primaryPort, table: Self.table, idBase: 50_000_000)
        writer.start()
        try await waitUntil("the writer to commit on \(leader.name)", timeout: .seconds(30)) {
            writer.report.acknowledged(on: leader.pgPort).count >= 10 ? true : nil
        }
        let restartStarted = ContinuousClock.now
        try await fixture.cluster.restartZooKeeper(downSeconds: 1)
        let restartEnded = ContinuousClock.now
        let resynced = try await switchman.waitForStats("Switchman's ZooKeeper session to be connected again after the restart") {
            $0.cluster?.zookeeperSession == "connected"
                && ($0.cluster?.zookeeperDisconnectsTotal ?? 0) > (before.cluster?.zookeeperDisconnectsTotal ?? 0)
        }
        try await Task.sleep(for: .seconds(2))
        let report = try await writer.stop()

        #expect(report.failures.isEmpty, "writes failed while ZooKeeper restarted: \(report.failureSummary)")
        let duringOutage = report.acknowledged.filter { $0.finished > restartStarted && $0.finished < restartEnded }
        #expect(!duringOutage.isEmpty, "no write committed while ZooKeeper was restarting")
        #expect(report.longestGap < 5, "writes stalled \(format(report.longestGap)) s while ZooKeeper restarted")
        #expect(report.portSequence == [leader.pgPort], "writes went to \(report.portSequence), not only the leader \(leader.pgPort)")
        #expect(resynced.cluster?.leader?.name == leader.name && resynced.cluster?.leader?.confirmed == true,
                "the leader changed or lost its confirmation: \(String(describing: resynced.cluster?.leader))")
        #expect(resynced.cluster?.leaderChangesTotal == before.cluster?.leaderChangesTotal, "a leader change was seen")
        #expect(resynced.cluster?.zookeeperSessionExpiriesTotal == before.cluster?.zookeeperSessionExpiriesTotal,
                "Switchman's ZooKeeper session expired during a short restart")
        let fresh = try PGConnection(port: switchman.primaryPort)
        let reached = try fresh.whereAmI()
        #expect(!reached.inRecovery && reached.port == leader.pgPort, "after the restart a new connection reached \(reached)")
        print("[integration] ZooKeeper restart: \(format(seconds(restartStarted, restartEnded))) s down and up; \(duringOutage.count) commits meanwhile; longest gap \(format(report.longestGap)) s")
        try await fixture.cluster.waitHealthy()
    }

    // MARK: - Shared checks

    func createTable(on leader: ClusterNode) throws {
        try ClusterFixture.required().connect(to: leader).query("set client_min_messages = warning; create table if not exists \(Self.table)(id bigint primary key)")
    }

    /// The writes of one failover: none failed read-only; commits went to the old leader, then to the new
    /// one only; the writer had to reconnect away from the old leader; a session to the new leader was
    /// never closed under it; 57P03 at connect is reported as the known gap.
    func checkWrites(_ report: WriterReport, old: ClusterNode, new: ClusterNode, what: String) throws {
        #expect(report.readOnlyFailures.isEmpty,
                "\(what): \(report.readOnlyFailures.count) statements reached a read-only node (25006): \(report.failureSummary)")
        #expect(report.portSequence == [old.pgPort, new.pgPort],
                "\(what): commits went to ports \(report.portSequence); expected \(old.name) (\(old.pgPort)) then \(new.name) (\(new.pgPort))")
        let lastOld = report.acknowledged(on: old.pgPort).last
        let firstNew = report.acknowledged(on: new.pgPort).first
        if let lastOld, let firstNew {
            #expect(firstNew.connection != lastOld.connection, "\(what): one connection committed on both leaders")
            // Once on the new leader, a session must stay up: only sessions to the old leader are closed.
            let laterFailures = report.failures.filter { $0.started > firstNew.finished }
            #expect(laterFailures.isEmpty, """
                \(what): after the first commit on the new leader \(new.name), \(laterFailures.count) write(s) failed: \
                \(WriterReport(attempts: laterFailures).failureSummary) — a session to the new leader was closed
                """)
        }
        let startup = report.startupFailures
        withKnownIssue("a new connection reaching the old leader as it shuts down (57P03, or closed during start-up): the PostgreSQL-aware start-up retry is not in yet",
                       isIntermittent: true) {
            if !startup.isEmpty {
                Issue.record("\(what): \(startup.count) connect(s) through the primary port met the old leader shutting down: \(WriterReport(attempts: startup).failureSummary)")
            }
        }
    }

    /// Every acknowledged id is on `node` (read directly, not through Switchman).
    func checkAcknowledgedRowsPresent(_ report: WriterReport, on node: ClusterNode) throws {
        let ids = report.acknowledgedIDs
        guard let low = ids.min(), let high = ids.max() else {
            Issue.record("no write was acknowledged")
            return
        }
        let connection = try ClusterFixture.required().connect(to: node)
        let present = Set(try connection.query("select id from \(Self.table) where id between \(low) and \(high)").compactMap { $0.first ?? nil }.compactMap { Int($0) })
        let lost = Set(ids).subtracting(present)
        #expect(lost.isEmpty, "\(lost.count) acknowledged writes are missing on \(node.name): \(lost.sorted().prefix(10))")
    }

    /// `node` comes back as a replica (no failback), the cluster is healthy, and the read port uses it.
    func rejoinsAsReplica(_ node: ClusterNode, leader: ClusterNode) async throws {
        let fixture = try ClusterFixture.required()
        try await fixture.cluster.waitHealthy()
        #expect(try await fixture.cluster.leader() == leader, "Patroni failed back to \(node.name)")
        try await fixture.switchman.waitForStats("the read port to route to the rejoined \(node.name)", timeout: .seconds(60)) {
            $0.listener("replicas")?.route.servers == [node.name]
        }
        let reader = try PGConnection(port: fixture.switchman.replicaPort)
        let read = try reader.whereAmI()
        #expect(read.inRecovery && read.port == node.pgPort, "the read port reached \(read) instead of the rejoined replica \(node.name) (\(node.pgPort))")
    }
}

func format(_ value: Double) -> String {
    String(format: "%.3f", value)
}
