import Foundation
import Testing

/// Switchman's own ZooKeeper session expires while the cluster is fine: a second Switchman reaches the
/// suite's ZooKeeper through a forwarder, which is cut for longer than its session timeout (4 s), so
/// ZooKeeper expires the session while Patroni's sessions, on their own connections, are untouched.
/// What the documentation promises (README "ZooKeeper lost", CONFIGURATION `on_dcs_loss`, default
/// `verify`): writes stay with the confirmed leader while its SQL check and Patroni REST say it is the
/// primary, reads keep the last picture; then a new session is opened, the whole cluster re-read, and
/// its watches must work: a switchover after it is routed like any other.
extension ClusterIntegrationTests {
    @Test("Switchman's ZooKeeper session expired (its connection cut past the 4 s session timeout): open sessions and both routes stay (on_dcs_loss: verify), a new session re-reads the cluster without a route change, and a switchover after it moves writes to the new leader",
          .timeLimit(.minutes(4)))
    func anExpiredZooKeeperSessionKeepsRoutesAndTheNewSessionRoutesTheNextLeaderChange() async throws {
        let fixture = try ClusterFixture.required()
        let old = try await fixture.healthyLeader()
        let new = fixture.cluster.other(than: old)
        let zookeeperPort = try freeLoopbackPorts(1)[0]
        var forwarder: LoopbackForwarder? = try LoopbackForwarder(listenPort: zookeeperPort, targetPort: fixture.cluster.zookeeperPort)
        let switchman = try SwitchmanProcess(cluster: fixture.cluster, directory: fixture.directory, name: "switchman-zk-expiry",
                                             zookeeperPort: zookeeperPort, zookeeperSessionTimeout: "4s")
        defer { forwarder?.stop() }
        do {
            try await expiryThenLeaderChange(switchman, forwarder: &forwarder, zookeeperPort: zookeeperPort, old: old, new: new)
        } catch {
            await switchman.stop()
            throw error
        }
        await switchman.stop()
        // Patroni restarts the demoted node as a replica by itself; the suite's Switchman reads from it again.
        try await rejoinsAsReplica(old, leader: new)
    }

    private func expiryThenLeaderChange(_ switchman: SwitchmanProcess, forwarder: inout LoopbackForwarder?, zookeeperPort: Int,
                                        old: ClusterNode, new: ClusterNode) async throws {
        let fixture = try ClusterFixture.required()
        try await switchman.waitReady(leader: old.name)
        try await switchman.waitForStats("the read port to route to \(new.name)") { $0.listener("replicas")?.route.servers == [new.name] }
        let before = try await switchman.stats()
        let firstSession = Self.sessionIDs(in: switchman.log())
        let writer = try PGConnection(port: switchman.primaryPort)
        let reader = try PGConnection(port: switchman.replicaPort)
        #expect(try writer.whereAmI() == (false, old.pgPort))
        #expect(try reader.whereAmI() == (true, new.pgPort))

        // The cut: the forwarder's listener and connections close; ZooKeeper sees the session's
        // connection go and expires the session after its timeout; Switchman's client gives it up too.
        let cut = ContinuousClock.now
        forwarder?.stop()
        forwarder = nil
        let expired = try await switchman.waitForStats("Switchman's ZooKeeper session to expire", timeout: .seconds(30)) {
            $0.cluster?.zookeeperSession == "expired"
                && ($0.cluster?.zookeeperSessionExpiriesTotal ?? 0) > (before.cluster?.zookeeperSessionExpiriesTotal ?? 0)
        }
        let expiredAfter = seconds(cut, .now)
        // Expired, and kept so for 2 s more: routes and open sessions stay, new clients reach the same nodes.
        // Each is (in recovery, port) or the error: a held or refused client is a finding, not a throw.
        func reach(_ port: Int) -> String {
            do throws(PGError) {
                let reached = try PGConnection(port: port, connectTimeout: 5).whereAmI()
                return "\(reached.inRecovery ? "in recovery" : "writable") on \(reached.port)"
            } catch {
                return "failed: \(error)"
            }
        }
        var newWrites: [String] = []
        var newReads: [String] = []
        for _ in 0..<4 {
            newWrites.append(reach(switchman.primaryPort))
            newReads.append(reach(switchman.replicaPort))
            try await Task.sleep(for: .milliseconds(500))
        }
        let during = try await switchman.stats()
        #expect(during.cluster?.zookeeperSession == "expired", "the session was \(during.cluster?.zookeeperSession ?? "none") while cut")
        #expect(expired.routesWrites(to: old.name) && during.routesWrites(to: old.name),
                "writes did not stay with the confirmed leader \(old.name) while the session was expired: \(during.writeRouteSummary)")
        #expect(during.listener("replicas")?.route.servers == [new.name], "the read route changed: \(String(describing: during.listener("replicas")?.route))")
        #expect(newWrites.allSatisfy { $0 == "writable on \(old.pgPort)" }, "new write sessions while expired: \(newWrites), not \(old.name) (\(old.pgPort))")
        #expect(newReads.allSatisfy { $0 == "in recovery on \(new.pgPort)" }, "new read sessions while expired: \(newReads), not \(new.name) (\(new.pgPort))")
        #expect(try writer.value("select 1") == "1", "the open write session was dropped when the session expired")
        #expect(try reader.value("select 1") == "1", "the open read session was dropped when the session expired")
        #expect(during.cluster?.dcsLossWriteCutsTotal == before.cluster?.dcsLossWriteCutsTotal, "writes were cut although the leader's checks were fine")

        // ZooKeeper reachable again: a new session, the cluster re-read, the same routes (same generation).
        let restored = ContinuousClock.now
        forwarder = try LoopbackForwarder(listenPort: zookeeperPort, targetPort: fixture.cluster.zookeeperPort)
        let resynced = try await switchman.waitForStats("a new ZooKeeper session", timeout: .seconds(30)) {
            $0.cluster?.zookeeperSession == "connected"
        }
        let reconnectedAfter = seconds(restored, .now)
        let sessions = Self.sessionIDs(in: switchman.log())
        #expect(sessions.count == firstSession.count + 1 && sessions.last != firstSession.last,
                "expected one new ZooKeeper session after \(firstSession), the log names \(sessions)")
        #expect(resynced.routesWrites(to: old.name), "after the new session: \(resynced.writeRouteSummary)")
        // The primary generation (docs/STATS.md: bumped on every leader change) must not move: the leader's
        // term goes on, its sessions with it.
        #expect(resynced.cluster?.generation == before.cluster?.generation, """
            the primary generation moved \(before.cluster?.generation ?? -1) → \(resynced.cluster?.generation ?? -1); events since: \
            \(resynced.events.filter { $0.time > (before.events.first?.time ?? 0) }.map(\.message))
            """)
        #expect(resynced.cluster?.leaderChangesTotal == before.cluster?.leaderChangesTotal, "a leader change was seen without one")
        #expect(Set(resynced.members.map(\.name)) == [old.name, new.name], "members after the re-read: \(resynced.members.map(\.name))")
        #expect(resynced.listener("replicas")?.route.servers == [new.name])
        #expect(try writer.value("select 1") == "1", "the open write session was dropped by the re-read")
        #expect(try reader.value("select 1") == "1", "the open read session was dropped by the re-read")

        // A leader change after the new session: its watches must see it.
        let requested = ContinuousClock.now
        let answer = try await fixture.cluster.switchover(to: new)
        do {
            try await switchman.waitForStats("Switchman's new session to route writes to \(new.name) after the switchover", timeout: .seconds(90)) {
                $0.routesWrites(to: new.name)
            }
        } catch {
            Issue.record("\(error) ('\(answer)'); Switchman log:\n\(switchman.log().suffix(3000))")
            return
        }
        let routedAfter = seconds(requested, .now)
        let fresh = try PGConnection(port: switchman.primaryPort)
        #expect(try fresh.whereAmI() == (false, new.pgPort))
        #expect(throws: PGError.self, "the write session to the demoted \(old.name) survived the switchover") { try writer.query("select 1") }
        print("""
            [integration] Switchman's ZooKeeper session (4 s timeout) expired \(format(expiredAfter)) s after the cut; \
            writes stayed with \(old.name) and reads with \(new.name) meanwhile (\(newWrites.count)+\(newReads.count) new sessions, \
            2 open ones kept); new session \(format(reconnectedAfter)) s after ZooKeeper was reachable again \
            (\(sessions.last ?? "?") replacing \(firstSession.last ?? "?")); switchover routed to \(new.name) \(format(routedAfter)) s after the request
            """)
    }

    /// The ZooKeeper session ids Switchman logged on connecting, in order.
    static func sessionIDs(in log: String) -> [String] {
        log.split(separator: "\n").filter { $0.contains("connected to ZooKeeper, reading the cluster") }.compactMap { line in
            guard let range = line.range(of: "session=0x") ?? line.range(of: "\"session\":\"0x") else { return nil }
            return String(line[range.upperBound...].prefix { $0.isHexDigit })
        }
    }
}
