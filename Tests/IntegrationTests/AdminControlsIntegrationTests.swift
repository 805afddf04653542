import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The runtime controls against the real cluster, driven through `switchman ctl`: a drained replica
/// takes no new read sessions and drops none, `ready` brings it back, `shutdown-sessions` ends its
/// sessions; a paused write port holds clients through a restart of the leader's PostgreSQL.
extension ClusterIntegrationTests {
    static let adminUser = "ops"
    static let adminPassword = "integration-admin"

    /// A Switchman of its own with `stats.admin` (the suite's shared one has no controls).
    func adminSwitchman(_ fixture: ClusterFixture, name: String) async throws -> SwitchmanProcess {
        let passwordFile = fixture.directory + "/\(name).password"
        try (Self.adminPassword + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let switchman = try SwitchmanProcess(
            cluster: fixture.cluster, directory: fixture.directory, name: name, admin: (Self.adminUser, passwordFile))
        try await switchman.waitReady(leader: try await fixture.healthyLeader().name)
        return switchman
    }

    /// `switchman ctl ACTION NAME` against `switchman`'s stats server; `password` nil uses the right one.
    func ctl(_ switchman: SwitchmanProcess, _ action: String, _ name: String, password: String? = nil) async throws -> CommandResult {
        try await Command.run(
            Repository.switchmanBinary,
            ["ctl", action, name, "--stats", "http://127.0.0.1:\(switchman.statsPort)", "--user", Self.adminUser,
             "--password-file", try passwordFile(password ?? Self.adminPassword, switchman)],
            timeout: .seconds(20))
    }

    private func passwordFile(_ password: String, _ switchman: SwitchmanProcess) throws -> String {
        let path = switchman.configPath + ".\(password.count)-\(UUID().uuidString.prefix(8)).ctl"
        try (password + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("drain the replica under a loop of read sessions: no session started after the drain reaches it, none fails, open ones stay; ready brings it back; shutdown-sessions ends its sessions",
          .timeLimit(.minutes(3)))
    func drainReplicaUnderReadLoad() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let replica = fixture.cluster.other(than: leader)
        let switchman = try await adminSwitchman(fixture, name: "switchman-drain")
        defer { Task { await switchman.stop() } }
        try await switchman.waitForStats("\(replica.name) in the read route", timeout: .seconds(60)) {
            $0.listener("replicas")?.route.servers.contains(replica.name) == true
        }

        // Open sessions on the replica that must survive the drain.
        var kept: [PGConnection] = []
        for _ in 0..<2 {
            let connection = try PGConnection(port: switchman.replicaPort)
            #expect(try connection.whereAmI().port == replica.pgPort)
            kept.append(connection)
        }

        // Wrong credentials first: refused, nothing changed.
        let refused = try await ctl(switchman, "drain", replica.name, password: "wrong")
        #expect(refused.status != 0, "ctl with a wrong password succeeded: \(refused.output)")
        #expect(refused.output.contains("401"), "ctl output: \(refused.output)")
        #expect(try await switchman.stats().member(replica.name)?.adminState == "ready")

        let clients = ConnectionOpener(port: switchman.replicaPort, interval: .milliseconds(50), connectTimeout: 10, overlapping: true)
        clients.start()
        var drainAnswered = ContinuousClock.now
        var readyAnswered = ContinuousClock.now
        var readyRequested = ContinuousClock.now
        do {
            try await waitUntil("read sessions to reach \(replica.name)", timeout: .seconds(30)) {
                clients.tries.filter { $0.serverPort == replica.pgPort }.count >= 5 ? true : nil
            }
            let drained = try await ctl(switchman, "drain", replica.name)
            drainAnswered = .now
            #expect(drained.status == 0, "ctl drain: \(drained.output)")
            #expect(drained.output.contains("member \(replica.name): drain (was ready)"), "ctl drain: \(drained.output)")
            let seen = try await switchman.stats()
            #expect(seen.member(replica.name)?.status == "DRAIN")
            #expect(seen.member(replica.name)?.adminState == "drain")
            #expect(seen.listener("replicas")?.route.servers == [leader.name], "read route: \(String(describing: seen.listener("replicas")?.route))")
            // Let sessions keep arriving on the drained replica's listener for a while.
            try await waitUntil("20 read sessions started after the drain to finish", timeout: .seconds(30)) {
                clients.tries.filter { $0.started > drainAnswered }.count >= 20 ? true : nil
            }
            for connection in kept {
                #expect(try connection.whereAmI().port == replica.pgPort, "an open session on the drained replica was not kept")
            }
            readyRequested = .now
            let ready = try await ctl(switchman, "ready", replica.name)
            readyAnswered = .now
            #expect(ready.status == 0, "ctl ready: \(ready.output)")
            try await waitUntil("read sessions to reach \(replica.name) again after ready", timeout: .seconds(30)) {
                clients.tries.contains { $0.started > readyAnswered && $0.serverPort == replica.pgPort } ? true : nil
            }
        } catch {
            _ = try? await clients.stop()
            _ = try? await ctl(switchman, "ready", replica.name)
            throw error
        }
        let tries = try await clients.stop()
        let failures = tries.filter { $0.error != nil }
        // Sessions the drain sent to the leader (fallback) stay when ready brings the replica back.
        #expect(failures.isEmpty, "\(failures.count) of \(tries.count) read sessions failed: \(Self.summary(failures))")
        // A control is in force before `ctl` returns (and ctl, a process of its own, may take a while
        // on a loaded machine): a session is of the drain only between drain's answer and ready's request.
        let duringDrain = tries.filter { $0.started > drainAnswered && $0.finished < readyRequested }
        let leaked = duringDrain.filter { $0.serverPort == replica.pgPort }
        #expect(!duringDrain.isEmpty)
        #expect(leaked.isEmpty, "\(leaked.count) of \(duringDrain.count) sessions started after the drain reached \(replica.name)")
        print("drain: \(tries.count) read sessions, \(failures.count) failed, \(duringDrain.count) while drained, \(leaked.count) of them on \(replica.name)")

        // shutdown-sessions: the kept sessions end; new ones still work.
        let shut = try await ctl(switchman, "shutdown-sessions", replica.name)
        #expect(shut.status == 0 && shut.output.contains("session"), "ctl shutdown-sessions: \(shut.output)")
        for connection in kept {
            #expect(throws: PGError.self, "a session survived shutdown-sessions") { try connection.whereAmI() }
        }
        #expect(switchman.log().contains("control by \(Self.adminUser) from 127.0.0.1:"), "the log does not name who drained")
        #expect(try await ctl(switchman, "drain", "no-such-member").status != 0)
        await switchman.stop()
    }

    @Test("pause the write port, restart the leader's PostgreSQL through Patroni, resume: no client through the write port sees an error",
          .timeLimit(.minutes(4)))
    func pauseWritePortAcrossLeaderRestart() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let switchman = try await adminSwitchman(fixture, name: "switchman-pause")
        defer { Task { await switchman.stop() } }

        // Each client its own thread with libpq's connect timeout beyond the 30 s hold: a held one waits.
        let clients = ConnectionOpener(port: switchman.primaryPort, interval: .milliseconds(200), connectTimeout: 40, overlapping: true)
        let started = try PGConnection(port: leader.pgPort).value("select pg_postmaster_start_time()::text")
        clients.start()
        var resumed = false
        var pausedAt = ContinuousClock.now
        var resumeRequested = ContinuousClock.now
        do {
            try await waitUntil("write sessions to reach \(leader.name)", timeout: .seconds(30)) {
                clients.tries.filter(\.writable).count >= 5 ? true : nil
            }
            let paused = try await ctl(switchman, "pause", "primary")
            pausedAt = .now
            #expect(paused.status == 0, "ctl pause: \(paused.output)")
            // Sessions that got in before the pause finish their one query; then none is open to the
            // leader (the listener's own count includes the held ones).
            try await switchman.waitForStats("the sessions to \(leader.name) to end and some to be held", timeout: .seconds(30)) {
                $0.member(leader.name)?.sessions.current == 0 && ($0.listener("primary")?.held ?? 0) > 0
            }
            let seen = try await switchman.stats()
            #expect(seen.listener("primary")?.paused == true)
            #expect(seen.listener("primary")?.route.state == "hold")
            try await fixture.cluster.restartNode(leader)
            try await waitUntil("PostgreSQL on \(leader.name) to take writes again", timeout: .seconds(120)) {
                (try? PGConnection(port: leader.pgPort, connectTimeout: 2).whereAmI().inRecovery) == false ? true : nil
            }
            resumeRequested = .now
            let resume = try await ctl(switchman, "resume", "primary")
            resumed = true
            #expect(resume.status == 0, "ctl resume: \(resume.output)")
            print("pause: held \(seconds(pausedAt, .now)) s across the restart of \(leader.name)'s PostgreSQL")
            try await waitUntil("write sessions to flow again after resume", timeout: .seconds(40)) {
                clients.tries.contains { $0.started > .now - .seconds(2) && $0.writable } ? true : nil
            }
        } catch {
            _ = try? await clients.stop()
            if !resumed { _ = try? await ctl(switchman, "resume", "primary") }
            try await fixture.cluster.waitHealthy()
            throw error
        }
        let tries = try await clients.stop()
        let failures = tries.filter { !$0.succeeded }
        // Started while paused (with a margin for the ctl round trip): connected only once resumed.
        // The resume is in force before `ctl resume` returns: held means started after pause answered
        // and before resume was asked for; early means connected before resume was asked for.
        let held = tries.filter { $0.started > pausedAt && $0.started < resumeRequested }
        let early = held.filter { ($0.connected ?? $0.finished) < resumeRequested }
        #expect(failures.isEmpty, "\(failures.count) of \(tries.count) write sessions failed: \(Self.summary(failures))")
        #expect(!held.isEmpty, "no client arrived while the port was paused")
        #expect(early.isEmpty, "\(early.count) of \(held.count) clients that arrived while paused got through before resume")
        let restarted = try PGConnection(port: leader.pgPort).value("select pg_postmaster_start_time()::text")
        #expect(restarted != started, "PostgreSQL on \(leader.name) did not restart (postmaster start \(started ?? "?"))")
        #expect(tries.allSatisfy { !$0.succeeded || $0.serverPort == leader.pgPort })
        let longest = tries.map(\.elapsed).max() ?? 0
        print("pause: \(tries.count) write sessions, \(failures.count) failed, \(held.count) arrived while paused, longest \(longest) s")
        await switchman.stop()
        try await fixture.cluster.waitHealthy()
    }
}
