import Foundation
import Testing

/// Switchman's member checks against the real nodes: one kept-open connection per member, and a
/// check user that cannot log in is a clear, visible error rather than a crash or a silent route.
extension ClusterIntegrationTests {
    @Test("each member is checked over one kept-open connection: the same backend answers the checks for 3 s",
          .timeLimit(.minutes(2)))
    func memberChecksKeepOneConnectionOpenPerMember() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let replica = fixture.cluster.other(than: leader)
        for node in [leader, replica] {
            let direct = try PGConnection(port: node.pgPort)
            let query = "select string_agg(pid::text, ',' order by pid) from pg_stat_activity where application_name = 'switchman-check' and query like 'select pg_is_in_recovery(), case%'"
            // The check's own query is the backend's last statement once it has run.
            let first = try await waitUntil("a member check on \(node.name)", timeout: .seconds(10)) { try direct.value(query) }
            try await Task.sleep(for: .seconds(3))  // three check intervals
            let later = try direct.value(query)
            #expect(first == later, "\(node.name): check backends \(first) then \(later ?? "none"): the connection was not kept")
            #expect(first.split(separator: ",").count == 1, "\(node.name): \(first) check connections from one Switchman")
        }
    }

    @Test("a check user with a wrong password: members show the authentication error as their check, writes stay held, the process keeps running",
          .timeLimit(.minutes(2)))
    func aWrongCheckPasswordIsAVisibleCheckErrorNotACrash() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let replica = fixture.cluster.other(than: leader)
        let wrong = try SwitchmanProcess(cluster: fixture.cluster, directory: fixture.directory, name: "switchman-badpass", checkPassword: "not-the-password")
        defer { Task { await wrong.stop() } }
        let seen = try await wrong.waitForStats("the replica's check to fail with the authentication error", timeout: .seconds(30)) {
            $0.member(replica.name)?.status == "DOWN"
        }
        let reason = seen.member(replica.name)?.statusReason ?? ""
        #expect(reason.contains("SQL check failing") && reason.contains("password authentication failed"), "reason: \(reason)")
        let check = seen.member(replica.name)?.checks?.first { $0.name == "sql" }
        #expect(check?.ok == false && check?.detail.contains("password authentication failed") == true, "check: \(String(describing: check))")
        #expect(seen.cluster?.leader?.confirmed == false, "writes flowed without a confirmed leader")
        #expect(wrong.log().contains("SQL check of \(replica.name) failing"), "no log line for the failing check")
        #expect(wrong.isRunning)
        // The real Switchman beside it is untouched.
        #expect(try await fixture.switchman.stats().routesWrites(to: leader.name))
        await wrong.stop()
    }
}
