import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Patroni's REST API is a second opinion only: while ZooKeeper and SQL agree, a frozen Patroni
/// (SIGSTOP) changes no route; while ZooKeeper is away (`on_dcs_loss: verify`), a leader whose
/// Patroni does not answer `/primary` gets no more writes (its postmaster may outlive Patroni).
extension ClusterIntegrationTests {
    /// Node `node`'s Patroni process id.
    func patroniPID(_ node: ClusterNode) throws -> pid_t {
        let path = "\(try ClusterFixture.required().cluster.directory)/node\(node.number)/patroni.pid"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw IntegrationError("no Patroni pid in \(path)")
        }
        return pid
    }

    @Test("the replica's Patroni frozen for 6 s (shorter than the ttl) while its PostgreSQL is fine: reads continue there and no read session is dropped",
          .timeLimit(.minutes(2)))
    func aFrozenReplicaPatroniChangesNoReadRoute() async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let leader = try await fixture.healthyLeader()
        let replica = fixture.cluster.other(than: leader)
        try await switchman.waitForStats("the read port to route to \(replica.name)") { $0.listener("replicas")?.route.servers == [replica.name] }
        let open = try PGConnection(port: switchman.replicaPort)
        #expect(try open.whereAmI().port == replica.pgPort)
        let pid = try patroniPID(replica)
        kill(pid, SIGSTOP)
        var ports: [Int] = []
        do {
            // Long enough for REST requests to time out (check timeout 2 s) a few times.
            _ = try await switchman.waitForStats("the REST check of \(replica.name) to fail", timeout: .seconds(20)) {
                $0.member(replica.name)?.checks?.first { $0.name == "rest" }?.ok == false
            }
            for _ in 0..<5 {
                ports.append(try PGConnection(port: switchman.replicaPort).whereAmI().port)
                try await Task.sleep(for: .milliseconds(200))
            }
        } catch {
            kill(pid, SIGCONT)
            throw error
        }
        let during = try await switchman.stats()
        kill(pid, SIGCONT)
        #expect(ports == Array(repeating: replica.pgPort, count: 5), "reads went to \(ports) while \(replica.name)'s Patroni was frozen")
        #expect(during.listener("replicas")?.route.servers == [replica.name])
        #expect(try open.value("select 1") == "1", "a read session was dropped")
        try await fixture.cluster.waitHealthy()
    }

    @Test("ZooKeeper down and the leader's Patroni frozen (its PostgreSQL still up): on_dcs_loss verify cuts writes, none reaches the node after the cut",
          .timeLimit(.minutes(3)))
    func aFrozenLeaderPatroniDuringAZooKeeperOutageGetsNoWrites() async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let leader = try await fixture.healthyLeader()
        try createTable(on: leader)
        let before = try await switchman.stats()
        let pid = try patroniPID(leader)
        let outage = Task { try await fixture.cluster.restartZooKeeper(downSeconds: 12) }
        defer { kill(pid, SIGCONT) }
        try await switchman.waitForStats("Switchman to lose its ZooKeeper connection", timeout: .seconds(20)) {
            $0.cluster?.zookeeperSession != "connected"
        }
        kill(pid, SIGSTOP)
        let frozen = ContinuousClock.now
        let cut = try await switchman.waitForStats("Switchman to cut writes to \(leader.name)", timeout: .seconds(10)) {
            ($0.cluster?.dcsLossWriteCutsTotal ?? 0) > (before.cluster?.dcsLossWriteCutsTotal ?? 0)
        }
        let cutAfter = seconds(frozen, .now)
        #expect(cut.cluster?.leader?.confirmed == false)
        // A write attempted now is held (and times out), never committed on the frozen-Patroni node.
        let attempt = Result { try PGConnection(port: switchman.primaryPort, connectTimeout: 2).query("insert into \(Self.table) values (62000001)") }
        if case .success = attempt { Issue.record("a write committed through the primary port after the cut") }
        kill(pid, SIGCONT)
        try await outage.value
        try await fixture.cluster.waitHealthy()
        _ = try await fixture.healthyLeader()
        print("[integration] leader's Patroni frozen during a ZooKeeper outage: writes cut \(format(cutAfter)) s after the freeze (REST every fast_interval, each given 500 ms, cut after fall = 3 unanswered)")
    }
}
