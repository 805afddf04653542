import Foundation
import Testing

/// ZooKeeper unreachable when Switchman starts: it must run, say it is not ready, and route once
/// ZooKeeper comes. A second Switchman reaches the suite's ZooKeeper through a forwarder that does
/// not exist yet, so the shared cluster itself is never touched.
extension ClusterIntegrationTests {
    @Test("started while ZooKeeper is unreachable, Switchman runs, reports not ready, and routes writes to the leader once ZooKeeper comes",
          .timeLimit(.minutes(3)))
    func startedWithoutZooKeeperReportsNotReadyThenRoutesOnceItComes() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let zookeeperPort = try freeLoopbackPorts(1)[0]  // nothing listens there yet
        let late = try SwitchmanProcess(
            cluster: fixture.cluster, directory: fixture.directory, name: "switchman-zk-late", zookeeperPort: zookeeperPort)
        var forwarder: LoopbackForwarder?
        do {
            try await Task.sleep(for: .seconds(3))
            #expect(late.isRunning, "Switchman exited without ZooKeeper; log:\n\(late.log().suffix(2000))")
            let ready = try await HTTPGet.get(port: late.statsPort, path: "/ready")
            #expect(ready.status == 503, "/ready answered \(ready.status) without ZooKeeper: \(ready.body.prefix(200))")
            let health = try await HTTPGet.get(port: late.statsPort, path: "/health")
            #expect(health.status == 200, "/health answered \(health.status): the process is up")
            #expect(try await late.stats().routesWrites(to: leader.name) == false)

            forwarder = try LoopbackForwarder(listenPort: zookeeperPort, targetPort: fixture.cluster.zookeeperPort)
            let started = ContinuousClock.now
            try await late.waitReady(leader: leader.name)
            let ready2 = try await HTTPGet.get(port: late.statsPort, path: "/ready")
            #expect(ready2.status == 200)
            let writer = try PGConnection(port: late.primaryPort)
            #expect(try writer.whereAmI().port == leader.pgPort)
            print("[integration] Switchman started without ZooKeeper: /ready 503 for 3 s, routed to \(leader.name) \(String(format: "%.1f", seconds(started, .now))) s after ZooKeeper became reachable")
        } catch {
            forwarder?.stop()
            await late.stop()
            throw error
        }
        forwarder?.stop()
        await late.stop()
    }
}
