import Foundation
import Testing

/// ZooKeeper gone for longer than Patroni's `ttl` (10 s in the suite): with Patroni's `failsafe_mode`
/// the leader stays primary and Switchman (`on_dcs_loss: verify`, the default) keeps routing writes to
/// it while its SQL check and REST `/primary` keep saying so; without it Patroni demotes the leader at
/// `ttl`, and Switchman must stop writes before any reaches the read-only node.
extension ClusterIntegrationTests {
    static let zooKeeperDownSeconds = 25

    @Test("ZooKeeper down 25 s with Patroni's failsafe_mode on: a writer at 20 Hz through the primary port sees no failed write, all on the leader",
          .timeLimit(.minutes(4)))
    func zooKeeperLossWithFailsafeModeKeepsWritesFlowing() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        try await setFailsafeMode(true, via: leader)
        let (report, before, after): (WriterReport, StatsDocument, StatsDocument)
        do {
            // Patroni writes its failsafe key in the next loops (loop_wait 2 s).
            try await Task.sleep(for: .seconds(6))
            (report, before, after) = try await writeThroughZooKeeperLoss(leader: leader, idBase: 60_000_000)
        } catch {
            try? await setFailsafeMode(false, via: try await fixture.cluster.leader())
            throw error
        }
        #expect(report.failures.isEmpty, "writes failed while ZooKeeper was down: \(report.failureSummary)")
        #expect(report.portSequence == [leader.pgPort], "writes went to \(report.portSequence), not only \(leader.pgPort)")
        #expect(after.cluster?.dcsLossWriteCutsTotal == before.cluster?.dcsLossWriteCutsTotal, "Switchman cut writes to a failsafe leader")
        try await setFailsafeMode(false, via: try await fixture.cluster.leader())
        print("[integration] ZooKeeper down \(Self.zooKeeperDownSeconds) s, failsafe_mode on: \(report.acknowledged.count) writes committed, 0 failed; longest gap \(format(report.longestGap)) s")
        try await fixture.cluster.waitHealthy()
    }

    @Test("ZooKeeper down 25 s with failsafe_mode off: Patroni demotes the leader, Switchman stops writes and none reaches a read-only node",
          .timeLimit(.minutes(4)))
    func zooKeeperLossWithoutFailsafeModeStopsWritesBeforeTheDemotedNode() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let (report, before, after) = try await writeThroughZooKeeperLoss(leader: leader, idBase: 61_000_000)
        #expect(report.readOnlyFailures.isEmpty, "\(report.readOnlyFailures.count) writes reached a read-only node: \(report.failureSummary)")
        #expect((after.cluster?.dcsLossWriteCutsTotal ?? 0) > (before.cluster?.dcsLossWriteCutsTotal ?? 0),
                "Switchman never cut writes although Patroni demoted \(leader.name)")
        print("[integration] ZooKeeper down \(Self.zooKeeperDownSeconds) s, failsafe_mode off: \(report.acknowledged.count) writes committed, failures: \(report.failureSummary); longest gap \(format(report.longestGap)) s")
        try await fixture.cluster.waitHealthy()
        _ = try await fixture.healthyLeader()
    }

    /// A writer through the primary port while ZooKeeper is stopped for `zooKeeperDownSeconds`, until
    /// Switchman's session is connected and routes writes again (or 60 s).
    private func writeThroughZooKeeperLoss(leader: ClusterNode, idBase: Int) async throws -> (WriterReport, StatsDocument, StatsDocument) {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        try createTable(on: leader)
        let before = try await switchman.stats()
        let writer = Writer(port: switchman.primaryPort, table: Self.table, idBase: idBase, connectTimeout: 5)
        writer.start()
        do {
            try await waitUntil("the writer to commit on \(leader.name)", timeout: .seconds(30)) {
                writer.report.acknowledged(on: leader.pgPort).count >= 10 ? true : nil
            }
            try await fixture.cluster.restartZooKeeper(downSeconds: Self.zooKeeperDownSeconds)
            _ = try await switchman.waitForStats("Switchman's ZooKeeper session to be connected again") {
                $0.cluster?.zookeeperSession == "connected"
            }
            try await fixture.cluster.waitHealthy()
            _ = try? await switchman.waitForStats("Switchman to route writes again", timeout: .seconds(60)) {
                $0.cluster?.leader?.confirmed == true
            }
            try await Task.sleep(for: .seconds(1))
        } catch {
            _ = try? await writer.stop()
            throw error
        }
        let report = try await writer.stop()
        return (report, before, try await switchman.stats())
    }

    /// Sets Patroni's dynamic `failsafe_mode` with `PATCH /config` on `node`'s REST API.
    func setFailsafeMode(_ on: Bool, via node: ClusterNode) async throws {
        let script = """
            import sys, urllib.request
            req = urllib.request.Request("http://127.0.0.1:\(node.apiPort)/config", data=b'{"failsafe_mode": \(on ? "true" : "false")}',
                                         method="PATCH", headers={"Content-Type": "application/json"})
            print(urllib.request.urlopen(req, timeout=10).status)
            """
        let status = try await Command.check("/usr/bin/python3", ["-c", script], timeout: .seconds(20))
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "200", "PATCH /config answered \(status)")
    }
}
