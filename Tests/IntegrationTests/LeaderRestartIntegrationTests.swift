import Foundation
import Testing

/// The leader's PostgreSQL goes away and comes back while Patroni keeps the leader key (no failover):
/// `POST /restart` (what `patronictl restart` sends), or a postmaster crash that Patroni repairs.
/// New clients arriving meanwhile are held by Switchman and must get through once PostgreSQL accepts
/// again, not after the whole `hold_timeout` (30 s in the suite's configuration).
///
/// After a crash Patroni 3.0 recovers the data folder, starts the node as a standby ("starting as readonly
/// because i had the session lock") and promotes it a second or two later: in between the leader answers
/// read-only, and Switchman's member check holds writes until it is writable again.
extension ClusterIntegrationTests {
    /// How much later than PostgreSQL's own return a held connect may finish. Switchman retries at most
    /// every 500 ms; the rest is slack for a shared 2-core machine. The measured figures are printed.
    static let restartSlack = 5.0

    @Test("restart of the leader's PostgreSQL through Patroni: every connection opened through the primary port meanwhile gets through to the same leader, none more than 5 s after PostgreSQL accepts again",
          .timeLimit(.minutes(4)))
    func restartOfLeaderPostgres() async throws {
        try await leaderPostgresComesBack(.restart)
    }

    @Test("crash of the leader's postmaster, restarted by Patroni: every connection opened through the primary port meanwhile gets through to the same leader, none more than 5 s after PostgreSQL accepts again",
          .timeLimit(.minutes(4)))
    func crashOfLeaderPostmaster() async throws {
        try await leaderPostgresComesBack(.crash)
    }

    enum PostgresOutage: String {
        case restart = "restart through Patroni's REST API"
        case crash = "SIGKILL of the postmaster"
    }

    func leaderPostgresComesBack(_ outage: PostgresOutage) async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let leader = try await fixture.healthyLeader()
        let before = try await switchman.stats()

        // PostgreSQL's own downtime, seen by a direct connection every 50 ms (up: it answers and is not in
        // recovery, as a leader must be); the clients, through Switchman, each on its own thread so that a
        // held one does not delay the next (libpq's timeout is beyond the 30 s hold).
        let probe = ConnectionOpener(port: leader.pgPort, interval: .milliseconds(50), connectTimeout: 2, overlapping: false)
        let clients = ConnectionOpener(port: switchman.primaryPort, interval: .milliseconds(200), connectTimeout: 40, overlapping: true)
        probe.start()
        clients.start()
        do {
            try await waitUntil("the probe and the clients to reach \(leader.name)", timeout: .seconds(30)) {
                probe.tries.filter(\.writable).count >= 10 && clients.tries.filter(\.succeeded).count >= 5 ? true : nil
            }
        } catch {
            _ = try? await probe.stop()
            let seen = try await clients.stop()
            Issue.record("\(error); client failures before the \(outage.rawValue): \(Self.summary(seen.filter { $0.error != nil }))")
            return
        }

        let requested = ContinuousClock.now
        switch outage {
        case .restart: try await fixture.cluster.restartNode(leader)
        case .crash: try await fixture.cluster.killPostgres(leader)
        }
        let requestReturned = ContinuousClock.now
        // Back: a writable probe after the last one that was not, and none that was not since for a second.
        do {
            try await waitUntil("PostgreSQL on \(leader.name) to take connections again, not in recovery", timeout: .seconds(120)) {
                Self.backAt(probe.tries).map { seconds($0, .now) >= 1 } == true ? true : nil
            }
        } catch {
            _ = try? await probe.stop()
            _ = try? await clients.stop()
            Issue.record("\(error)")
            try await fixture.cluster.waitHealthy()
            return
        }
        // Clients keep arriving a while after PostgreSQL is back.
        try await Task.sleep(for: .seconds(3))
        let probes = try await probe.stop()
        let tries = try await clients.stop()

        // PostgreSQL's downtime: from the start of the first probe that was not answered by a writable node
        // to the end of the first writable answer after the last such probe (rounded up by a probe interval
        // at most on each side).
        guard let firstDown = probes.first(where: { !$0.writable }), let back = Self.backAt(probes) else {
            Issue.record("the direct probe of \(leader.name) was always answered, not in recovery: PostgreSQL did not go down")
            return
        }
        let downtime = seconds(firstDown.started, back)
        // Spells of unavailability the probe saw (1 unless PostgreSQL flapped), and how long it answered
        // read-only within them (Patroni starts a crashed leader as a standby, then promotes it).
        let spells = zip([true] + probes.map(\.writable), probes.map(\.writable)).filter { $0 && !$1 }.count
        let readOnlyProbes = probes.filter(\.readOnly)
        let readOnlyWindow = readOnlyProbes.first.map { seconds($0.started, readOnlyProbes.last!.finished) } ?? 0

        // A connection in flight when PostgreSQL went down, ended by the node's own shutdown or crash (its
        // statement, or a start-up already past authentication, which no proxy can replay), is not a client
        // that arrived during the outage: counted apart, not held against the proxy.
        func wasCut(_ t: ConnectionTry) -> Bool {
            guard t.started < firstDown.finished, let error = t.error else { return false }
            switch t.outcome {
            case .queryFailed: return t.connected.map { $0 < firstDown.finished } ?? false
            case .connectFailed:
                return error.message.contains("terminating connection due to") || error.message.contains("closed the connection unexpectedly")
            case .answered: return false
            }
        }
        let cut = tries.filter(wasCut)
        let failed = tries.filter { !$0.succeeded && !wasCut($0) }
        #expect(failed.count == 0, "\(failed.count) of \(tries.count) connections through the primary port failed during the \(outage.rawValue): \(Self.summary(failed))")

        let answered = tries.filter(\.succeeded)
        let elsewhere = answered.filter { $0.serverPort != leader.pgPort }
        #expect(elsewhere.count == 0, "\(elsewhere.count) connections reached ports \(Set(elsewhere.compactMap(\.serverPort)).sorted()), not \(leader.name) (\(leader.pgPort))")
        let readOnly = answered.filter(\.readOnly)
        let readOnlyMessage: Comment = "\(readOnly.count) connections through the primary port reached \(leader.name) while it was in recovery (read-only; the probe saw it read-only for \(format(readOnlyWindow)) s)"
        // After a crash Patroni starts the leader read-only, then promotes it, keeping the key and the
        // member's role: Switchman's own check of the leader (its kept-open connection drops with the
        // postmaster, and the check that follows is refused or finds it in recovery) holds writes until
        // the promotion probe sees it writable again.
        #expect(readOnly.count == 0, readOnlyMessage)
        // Opened while PostgreSQL was down, and got through: the case this test is about.
        let heldThrough = answered.filter { $0.started >= firstDown.started && $0.started < back }
        #expect(heldThrough.count > 0, "no connection through Switchman was opened while PostgreSQL was down and then got through")
        // How much later than PostgreSQL's return a try finished (0 for one that finished before it); also
        // against its first answer of any kind (earlier than `back` when it answered read-only first).
        func beyond(_ t: ConnectionTry, _ mark: ContinuousClock.Instant) -> Double {
            t.finished > mark ? seconds(max(t.started, mark), t.finished) : 0
        }
        let firstAnswer = probes.first { $0.started > firstDown.started && $0.succeeded }?.finished ?? back
        let maxBeyond = answered.map { beyond($0, back) }.max() ?? 0
        let maxBeyondFirstAnswer = answered.map { beyond($0, firstAnswer) }.max() ?? 0
        let late = answered.filter { beyond($0, back) > Self.restartSlack }
        #expect(late.count == 0, "\(late.count) connections finished more than \(format(Self.restartSlack)) s after PostgreSQL accepted again (the worst \(format(maxBeyond)) s later)")

        let after = try await switchman.stats()
        #expect(try await fixture.cluster.leader() == leader, "the leader changed: Patroni was to keep \(leader.name)")
        #expect(after.cluster?.leaderChangesTotal == before.cluster?.leaderChangesTotal, "Switchman saw a leader change")

        let longest = tries.map(\.elapsed).max() ?? 0
        print("""
            [integration] leader PostgreSQL \(outage.rawValue) on \(leader.name): the request returned after \
            \(format(seconds(requested, requestReturned))) s; PostgreSQL down \(format(downtime)) s (direct probe every 50 ms: \
            first not writable \(format(seconds(requested, firstDown.started))) s after the request, read-only for \
            \(format(readOnlyWindow)) s, \(spells) spell(s), \(probes.count) probes); \(tries.count) connections through the \
            primary port (one every 200 ms), \(heldThrough.count) opened while it was down and answered; \
            longest \(format(longest)) s; max finish after PostgreSQL was back \(format(maxBeyond)) s (after its first \
            answer of any kind \(format(maxBeyondFirstAnswer)) s); failed \(failed.count)\
            \(failed.isEmpty ? "" : " (\(Self.summary(failed)))"); reached it read-only \(readOnly.count); in flight when it went down \
            and ended by it \(cut.count)\(cut.isEmpty ? "" : " (\(Self.summary(cut)))")
            """)

        try await fixture.cluster.waitHealthy()
        _ = try await fixture.healthyLeader()
    }

    /// When PostgreSQL took connections again, not in recovery: the end of the first writable answer
    /// after the last probe that had none.
    static func backAt(_ probes: [ConnectionTry]) -> ContinuousClock.Instant? {
        guard let lastDown = probes.lastIndex(where: { !$0.writable }) else { return nil }
        return probes[lastDown...].first(where: \.writable)?.finished
    }

    /// Failures by message, for assertion messages.
    static func summary(_ tries: [ConnectionTry]) -> String {
        var kinds: [String: (count: Int, longest: Double)] = [:]
        for t in tries {
            let key = t.error?.description ?? "?"
            let old = kinds[key] ?? (0, 0)
            kinds[key] = (old.count + 1, max(old.longest, t.elapsed))
        }
        return kinds.isEmpty ? "none"
            : kinds.sorted { $0.key < $1.key }.map { "\($0.value.count)× \($0.key) (longest \(format($0.value.longest)) s)" }.joined(separator: "; ")
    }
}
