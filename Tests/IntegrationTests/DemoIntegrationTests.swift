import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The README's first command, `scripts/demo.sh`, run against the suite's cluster (it reuses a healthy
/// cluster in DIR/cluster, and `--keep` leaves it running): two Switchman instances, each on its own
/// ports, both following the same leader.
extension ClusterIntegrationTests {
    @Test("the two-instance demo: a write through each instance, both stats pages answer, its failover helper narrates a leader stop, and the libpq multi-host form keeps working when one instance stops",
          .timeLimit(.minutes(6)))
    func twoInstanceDemoServesWritesThroughEitherInstance() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        try createTable(on: leader)
        let script = Repository.root.appendingPathComponent("scripts/demo.sh").path
        // Switchman refuses SWITCHMAN_* variables it does not know, so the demo gets none of the test
        // run's, only the binary to run.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHMAN_") }
        environment["SWITCHMAN_BIN"] = Repository.switchmanBinary
        let demoEnv = fixture.directory + "/demo.env"
        try? FileManager.default.removeItem(atPath: demoEnv)
        let pid = try Spawn.start(script, ["--no-install", "--keep", "--any-ports", fixture.directory], output: fixture.directory + "/demo.out",
                                  environment: environment.map { "\($0.key)=\($0.value)" })
        defer {
            kill(pid, SIGTERM)
            _ = Spawn.wait(pid, timeout: .seconds(20))
        }
        do {
            try await runDemoExercise(fixture: fixture, leader: leader, demoEnv: demoEnv)
        } catch {
            for log in ["demo.out", "switchman-1.log", "switchman-2.log"] {
                let text = (try? String(contentsOfFile: fixture.directory + "/" + log, encoding: .utf8)) ?? "(none)"
                print("[integration] the demo failed; last lines of \(log):\n" + text.split(separator: "\n").suffix(40).joined(separator: "\n"))
            }
            throw error
        }
    }

    private func runDemoExercise(fixture: ClusterFixture, leader: ClusterNode, demoEnv: String) async throws {
        let ports = try await waitUntil("the demo to write \(demoEnv)", timeout: .seconds(60)) { () -> [String: Int]? in
            guard let text = try? String(contentsOfFile: demoEnv, encoding: .utf8) else { return nil }
            var values: [String: Int] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2, let value = Int(parts[1]) { values[String(parts[0])] = value }
            }
            return values["STATS_2"] == nil ? nil : values
        }
        let (primary1, primary2) = (ports["PRIMARY_1"]!, ports["PRIMARY_2"]!)  // present: STATS_2 is written last
        for stats in [ports["STATS_1"]!, ports["STATS_2"]!] {
            // Each miss throws what it saw, so a timeout names the last answer, not only the wait.
            _ = try await waitUntil("the demo instance with stats port \(stats) to route writes to \(leader.name)", timeout: .seconds(60)) { () -> Bool? in
                let answer = try await HTTPGet.get(port: stats, path: "/stats.json")
                guard answer.status == 200 else { throw IntegrationError("/stats.json answered \(answer.status)") }
                let document = try StatsDocument.decode(answer.body)
                guard document.routesWrites(to: leader.name) else { throw IntegrationError("not yet: \(document.writeRouteSummary)") }
                return true
            }
        }
        for (index, port) in [primary1, primary2].enumerated() {
            let session = try PGConnection(port: port)
            try session.query("insert into \(Self.table) values (\(63_000_001 + index))")
            #expect(try session.whereAmI().port == leader.pgPort)
        }
        // The seed's exercise, narrated by the demo's failover helper: a graceful stop of the leader.
        let narration = try await Command.check(
            Repository.root.appendingPathComponent("scripts/demo-failover.sh").path, [fixture.directory, "stop"], timeout: .seconds(300))
        #expect(narration.contains("The first write on the new leader"), "\(narration)")
        #expect(narration.contains("\(leader.name) answers as a replica"), "\(narration)")
        print("[integration] scripts/demo-failover.sh:\n\(narration)")
        let current = try await fixture.healthyLeader()
        let multiHost = "host=127.0.0.1,127.0.0.1 port=\(primary1),\(primary2) user=postgres password=postgres dbname=postgres "
            + "target_session_attrs=read-write connect_timeout=10"
        #expect(try PGConnection(conninfo: multiHost).whereAmI().port == current.pgPort)
        // Stop instance 1: the same connection string reaches the leader through instance 2.
        let first = try String(contentsOfFile: fixture.directory + "/switchman-1.pid", encoding: .utf8)
        let firstPID = try #require(pid_t(first.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(firstPID, SIGTERM)
        _ = try await waitUntil("instance 1 to exit", timeout: .seconds(30)) { () -> Bool? in kill(firstPID, 0) == 0 ? nil : true }
        let after = try PGConnection(conninfo: multiHost)
        try after.query("insert into \(Self.table) values (63000003)")
        #expect(try after.whereAmI().port == current.pgPort)
        #expect((try? await HTTPGet.get(port: ports["STATS_2"]!, path: "/health"))?.status == 200)
    }
}
