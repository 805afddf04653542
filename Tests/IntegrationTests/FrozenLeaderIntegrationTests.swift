import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The old primary frozen during a failover, as a hung VM is: its Patroni and all of its PostgreSQL
/// processes stopped (SIGSTOP). Nothing on it answers or closes a connection, so only Switchman can end
/// the sessions clients have open to it: once Patroni's leader key expires (ttl 10 s) and ZooKeeper's
/// `leader` znode changes, every one of them must get an error at once. Clients that connect meanwhile
/// must wait for the new leader instead of failing, and once the frozen node is out of the picture
/// Switchman must hold no socket to it at all (sessions, start-ups or its own checks).
extension ClusterIntegrationTests {
    /// The issue's bound, not a hang catcher: from Switchman's leader change to each client's error.
    static let frozenLeaderCloseBound = 1.0
    /// `/stats.json` rounds event times to the millisecond: a session closed within half of one after
    /// the event may look up to 0.5 ms early.
    static let statsTimeRounding = 0.0005

    @Test("the leader's Patroni and PostgreSQL frozen (SIGSTOP, a hung VM): every session through the primary port to it, idle or in a statement, gets an error within 1 s of Switchman's leader change, clients connecting meanwhile reach the new leader, and no socket to the frozen node is left",
          .timeLimit(.minutes(4)))
    func aFrozenOldPrimarysSessionsAllFailWithinASecondOfTheLeaderChangeLeavingNoSocketToIt() async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let old = try await fixture.healthyLeader()
        let new = fixture.cluster.other(than: old)

        // Sessions through the primary port, each knowing the port of Switchman's own socket to the old
        // leader (the backend's client port): half will sit idle, half will have a statement in flight.
        var sessions: [PGConnection] = []
        var serverSocketPorts: [Int] = []
        for _ in 0..<8 {
            let session = try PGConnection(port: switchman.primaryPort)
            let row = try session.query("select pg_is_in_recovery(), inet_server_port(), inet_client_port()").first ?? []
            #expect(row.count == 3 && row[0] == "f" && row[1] == String(old.pgPort), "a session reached \(row), not \(old.name)")
            serverSocketPorts.append(Int(row.count == 3 ? row[2] ?? "" : "") ?? -1)
            sessions.append(session)
        }
        let held = Set(ProcessTCPSocket.held(by: switchman.pid, toRemotePort: old.pgPort).map(\.localPort))
        #expect(Set(serverSocketPorts).isSubset(of: held),
                "Switchman's sockets to \(old.name) \(held.sorted()) do not include the sessions' \(serverSocketPorts)")

        let frozen = try FrozenNode.freeze(old)
        let frozenAt = Date().timeIntervalSince1970
        let frozenClock = ContinuousClock.now
        var thawed = false
        defer { if !thawed { frozen.thaw() } }
        // The kernel delivers SIGSTOP asynchronously: each process shows state T a moment later.
        let stoppedSeen = (try? await waitUntil("every process of \(old.name) to be stopped", timeout: .seconds(5), interval: .milliseconds(20)) {
            frozen.allStopped ? true : nil
        }) ?? false
        #expect(stoppedSeen, "not every process of \(old.name) is stopped (state T): \(frozen.pids)")
        // A hung VM's clients keep asking: these statements reach the frozen backend and wait.
        for session in sessions[4...] { try session.send("select 1") }
        // New clients keep arriving too, one every 2 s: they must wait for the new leader, not fail.
        let arrivals = ConnectionOpener(port: switchman.primaryPort, interval: .seconds(2), connectTimeout: 45, overlapping: true)
        arrivals.start()
        // How many sockets Switchman holds towards the frozen PostgreSQL, every 200 ms until the thaw.
        let sampler = Task {
            var most = 0
            while !Task.isCancelled {
                most = max(most, ProcessTCPSocket.held(by: switchman.pid, toRemotePort: old.pgPort).count)
                try? await Task.sleep(for: .milliseconds(200))
            }
            return most
        }

        let watch = SessionBreakWatch(sessions)
        let (socketsWhileFrozen, restSocketsWhileFrozen, tries, promotedAfter, most): ([ProcessTCPSocket], [ProcessTCPSocket], [ConnectionTry], Double, Int)
        do {
            let watching = Task { try await watch.watch(limit: .seconds(90)) }
            let seen = try await switchman.waitForStats("Switchman to see the leader key of the frozen \(old.name) go", timeout: .seconds(60)) {
                $0.events.contains { $0.leaderChange?.oldLeader == old.name && $0.time >= frozenAt }
            }
            // Events are newest first: the first change away from the frozen leader is the last listed.
            let change = seen.events.last { $0.leaderChange?.oldLeader == old.name && $0.time >= frozenAt }!
            // The issue's bound plus a margin for this machine's scheduling, then every session is looked at.
            let stopAfter = Task {
                try await Task.sleep(for: .seconds(Self.frozenLeaderCloseBound + 4))
                watch.stop()
            }
            let outcomes = try await watching.value
            stopAfter.cancel()
            let left = ProcessTCPSocket.held(by: switchman.pid, toRemotePort: old.pgPort)
            let leftOfSessions = left.filter { serverSocketPorts.contains($0.localPort) }

            let delays = outcomes.map { $0.brokenAt.map { $0 - change.time } }
            let unbroken = delays.indices.filter { delays[$0] == nil }
            #expect(unbroken.isEmpty, "\(unbroken.count) of \(sessions.count) sessions to the frozen \(old.name) got no error \(format(Self.frozenLeaderCloseBound + 4)) s after the leader change (sessions \(unbroken))")
            let late = delays.compactMap { $0 }.filter { $0 > Self.frozenLeaderCloseBound }
            #expect(late.isEmpty, "\(late.count) sessions got their error more than \(format(Self.frozenLeaderCloseBound)) s after the leader change: \(late.map(format))")
            // Switchman may not end a session before ZooKeeper says the leader changed: a frozen node may be back.
            let early = delays.compactMap { $0 }.filter { $0 < -Self.statsTimeRounding }
            #expect(early.isEmpty, "\(early.count) sessions broke before the leader change: \(early.map(format)) s")
            #expect(outcomes.filter(\.answered).isEmpty, "a statement sent to the frozen \(old.name) was answered")
            #expect(leftOfSessions.isEmpty, "Switchman still holds the sessions' server sockets to \(old.name): \(leftOfSessions)")
            let stats = try await switchman.stats()
            #expect((stats.member(old.name)?.sessions.current ?? 0) == 0, "Switchman counts sessions still open to \(old.name)")

            print("""
                [integration] \(old.name) frozen (\(frozen.pids.count) processes): Switchman's leader change \
                (\(change.leaderChange?.oldLeader ?? "?") → \(change.leaderChange?.newLeader ?? "none")) \
                \(format(change.time - frozenAt)) s after the freeze; sessions' errors after it: \
                idle \(delays[..<4].map { $0.map(format) ?? "none" }), in a statement \(delays[4...].map { $0.map(format) ?? "none" }) s \
                (messages: \(Set(outcomes.compactMap(\.message)).sorted())); Switchman's sockets to \(old.name)'s PostgreSQL \
                before the freeze \(held.count), right after the errors \(left.count) (\(leftOfSessions.count) of the sessions')
                """)

            // The replica is promoted; clients that arrived meanwhile reach it; the frozen node, out of the
            // picture, keeps not one socket of Switchman's (sessions, held start-ups or checks).
            try await switchman.waitForStats("Switchman to route writes to \(new.name)", timeout: .seconds(90)) { $0.routesWrites(to: new.name) }
            promotedAfter = seconds(frozenClock, .now)
            tries = try await arrivals.stop()
            let failed = tries.filter { !$0.succeeded }
            #expect(failed.isEmpty, "\(failed.count) of \(tries.count) clients that connected while \(old.name) was frozen failed: \(Self.summary(failed))")
            let elsewhere = tries.filter { $0.succeeded && !($0.writable && $0.serverPort == new.pgPort) }
            #expect(elsewhere.isEmpty, "\(elsewhere.count) clients that connected while \(old.name) was frozen reached \(elsewhere.map(\.outcome)), not the new leader \(new.name)")
            try await switchman.waitForStats("\(old.name) to leave Switchman's picture (its member znode went with its session)", timeout: .seconds(30)) {
                $0.member(old.name) == nil
            }
            socketsWhileFrozen = ProcessTCPSocket.held(by: switchman.pid, toRemotePort: old.pgPort)
            restSocketsWhileFrozen = ProcessTCPSocket.held(by: switchman.pid, toRemotePort: old.apiPort)
            sampler.cancel()
            most = await sampler.value
        } catch {
            watch.stop()
            sampler.cancel()
            _ = try? await arrivals.stop()
            throw error
        }
        frozen.thaw()
        thawed = true
        #expect(socketsWhileFrozen.isEmpty && restSocketsWhileFrozen.isEmpty,
                "Switchman still holds sockets to the frozen \(old.name): PostgreSQL \(socketsWhileFrozen), REST \(restSocketsWhileFrozen)")
        print("""
            [integration] \(new.name) writable through Switchman \(format(promotedAfter)) s after the freeze; \(tries.count) clients \
            connected meanwhile, all to \(new.name): \(tries.filter { $0.serverPort == new.pgPort }.count) (longest \
            \(format(tries.map(\.elapsed).max() ?? 0)) s); Switchman's sockets to the frozen \(old.name) at most \(most) during the freeze, \
            \(socketsWhileFrozen.count + restSocketsWhileFrozen.count) at the thaw (\(format(seconds(frozenClock, .now))) s)
            """)
        // Woken, the old leader finds its key gone and rejoins as a replica (pg_rewind if it must).
        try await rejoinsAsReplica(old, leader: new)
    }
}
