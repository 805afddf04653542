@testable import Discovery
import Glibc
import Logging
import PosixIO
import Reactor
import SwitchmanCore
import Synchronization
import Testing

/// The coordinator on a real loop, fed discovery events by hand, with a fake promotion check and a
/// publisher that records the routes: no ZooKeeper, no PostgreSQL.
struct ClusterCoordinatorTests {
    /// A check whose answers the test gives, one per started check.
    final class FakeCheck: PromotionCheck, @unchecked Sendable {
        // @unchecked: the lock guards everything.
        private let state = Mutex<(answers: [SQLProbeResult], started: [String], cancelled: Int)>(([], [], 0))

        func answer(_ result: SQLProbeResult) { state.withLock { $0.answers.append(result) } }
        var started: [String] { state.withLock { $0.started } }

        func start(_ member: ClusterMember, completion: @escaping (SQLProbeResult) -> Void) -> () -> Void {
            state.withLock { $0.started.append(member.name) }
            // The next answer the test gave, or a failure while it gave none (the confirmer retries).
            let answer = state.withLock { $0.answers.isEmpty ? nil : $0.answers.removeFirst() }
            completion(answer ?? .failed("no answer given yet"))
            return { [self] in state.withLock { $0.cancelled += 1 } }
        }
    }

    final class Routes: Sendable {
        let published = Mutex<[[String: ListenerRoute]]>([])
        var last: ListenerRoute? { published.withLock { $0.last?["primary"] } }
    }

    private static func member(_ name: String, port: Int, role: String) -> [UInt8] {
        Array(#"{"conn_url":"postgres://127.0.0.1:\#(port)/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"\#(role)","version":"3.0.2","xlog_location":1000,"timeline":1}"#.utf8)
    }

    private static func topology(leader: String?) -> Topology {
        Topology(scope: "c", znodes: PatroniZNodes(
            leader: leader.map { Array($0.utf8) },
            members: ["pg-0": member("pg-0", port: 6000, role: leader == "pg-0" ? "master" : "replica"),
                      "pg-1": member("pg-1", port: 6001, role: leader == "pg-1" ? "master" : "replica")]))
    }

    /// Runs `body` with a coordinator of one primary listener on a started loop.
    private func withCoordinator(_ body: (ClusterCoordinator, FakeCheck, Routes) throws -> Void) throws {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        let check = FakeCheck()
        let routes = Routes()
        try body(coordinator(check: check, routes: routes, group: group), check, routes)
    }

    private func coordinator(check: FakeCheck, routes: Routes, group: EventLoopGroup) -> ClusterCoordinator {
        let cluster = ClusterConfiguration(
            scope: "c", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2181)]),
            check: SQLCheckConfiguration(user: "switchman", fastInterval: .milliseconds(50)))
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .critical
        return ClusterCoordinator(
            listeners: [ListenerConfiguration(name: "primary", bind: Endpoint(host: "127.0.0.1", port: 0), role: .primary)],
            cluster: cluster, loop: group.loops[0], logger: logger, check: check
        ) { published, completion in
            routes.published.withLock { $0.append(published) }
            completion(0)
        }
    }


    @Test func aNewLeaderGetsWritesOnlyOnceTheCheckSaysItIsOutOfRecovery() throws {
        try withCoordinator { coordinator, check, routes in
            check.answer(.row(["t"]))  // still in recovery at the first check
            check.answer(.failed("connection refused"))
            coordinator.handle(.topology(Self.topology(leader: "pg-0")))
            coordinator.handle(.session(.live, detail: "connected"))
            #expect(eventually { check.started.count >= 3 })
            if case .hold = routes.last?.state {} else { Issue.record("writes were routed before the promotion was confirmed: \(String(describing: routes.last))") }
            check.answer(.row(["f"]))
            #expect(eventually { routes.last?.state == .ready && routes.last?.servers.map(\.name) == ["pg-0"] })
            #expect(check.started.allSatisfy { $0 == "pg-0" })
        }
    }

    @Test func anExpiredSessionFailsWritesClosedAndALeaderChangeStartsANewConfirmation() throws {
        try withCoordinator { coordinator, check, routes in
            check.answer(.row(["f"]))
            coordinator.handle(.topology(Self.topology(leader: "pg-0")))
            coordinator.handle(.session(.live, detail: "connected"))
            #expect(eventually { routes.last?.state == .ready })
            coordinator.handle(.session(.expired, detail: "session expired"))
            #expect(eventually { routes.last?.state != .ready })
            // A new session reads pg-1 as leader: it is checked before it gets writes.
            coordinator.handle(.topology(Self.topology(leader: "pg-1")))
            coordinator.handle(.session(.live, detail: "connected"))
            #expect(eventually { check.started.last == "pg-1" })
            if case .ready = routes.last?.state { Issue.record("pg-1 got writes without a confirmation") }
            check.answer(.row(["f"]))
            #expect(eventually { check.started.filter { $0 == "pg-1" }.count >= 2 })
            #expect(eventually { routes.last?.state == .ready && routes.last?.servers.map(\.name) == ["pg-1"] })
        }
    }
    /// docs/STATS.md: `cluster.generation` (and `switchman_cluster_generation`, whose `changes()` counts
    /// failovers) is the primary generation, bumped on every leader change. A replica leaving and
    /// re-entering the read pool gets a new route generation of its own, and must not move it.
    @Test func theClusterGenerationMovesOnLeaderChangesOnlyNotWhenAReplicaReEntersTheReadPool() throws {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        let check = FakeCheck()
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .critical
        let coordinator = ClusterCoordinator(
            listeners: [ListenerConfiguration(name: "primary", bind: Endpoint(host: "127.0.0.1", port: 0), role: .primary),
                        ListenerConfiguration(name: "replicas", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica)],
            cluster: ClusterConfiguration(
                scope: "c", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2181)]),
                check: SQLCheckConfiguration(user: "switchman", fastInterval: .milliseconds(50))),
            loop: group.loops[0], logger: logger, check: check
        ) { _, completion in completion(0) }
        let view = Mutex<ClusterStats?>(nil)
        func stats() -> ClusterStats? {
            view.withLock { $0 = nil }
            coordinator.view { fresh in view.withLock { $0 = fresh.cluster } }
            _ = eventually { view.withLock { $0 != nil } }
            return view.withLock { $0 }
        }
        func topology(leader: String, replicaState: String) -> Topology {
            let replica = leader == "pg-0" ? "pg-1" : "pg-0"
            func data(_ port: Int, role: String, state: String) -> [UInt8] {
                Array(#"{"conn_url":"postgres://127.0.0.1:\#(port)/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"\#(state)","role":"\#(role)","version":"3.0.2","xlog_location":1000,"timeline":1}"#.utf8)
            }
            return Topology(scope: "c", znodes: PatroniZNodes(
                leader: Array(leader.utf8),
                members: [leader: data(leader == "pg-0" ? 6000 : 6001, role: "master", state: "running"),
                          replica: data(replica == "pg-0" ? 6000 : 6001, role: "replica", state: replicaState)]))
        }

        check.answer(.row(["f"]))
        coordinator.handle(.topology(topology(leader: "pg-0", replicaState: "running")))
        coordinator.handle(.session(.live, detail: "connected"))
        #expect(eventually { stats()?.leader?.confirmed == true })
        let confirmed = try #require(stats())
        // pg-1 restarts (Patroni says "starting", then "running" again): out of the read pool and back.
        coordinator.handle(.topology(topology(leader: "pg-0", replicaState: "starting")))
        coordinator.handle(.topology(topology(leader: "pg-0", replicaState: "running")))
        let afterReplicaReturn = try #require(stats())
        #expect(afterReplicaReturn.leaderChangesTotal == confirmed.leaderChangesTotal)
        #expect(afterReplicaReturn.generation == confirmed.generation,
                "the primary generation moved from \(confirmed.generation) to \(afterReplicaReturn.generation) without a leader change")

        // A real leader change does move it, once the new leader is confirmed.
        check.answer(.row(["f"]))
        coordinator.handle(.topology(topology(leader: "pg-1", replicaState: "running")))
        #expect(eventually { stats().map { $0.leader?.name == "pg-1" && $0.leader?.confirmed == true } ?? false })
        #expect((stats()?.generation ?? 0) > confirmed.generation)
    }
}
