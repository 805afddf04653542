import Foundation
import Testing

/// The failover ledger against a client's own view: a writer committing every 50 ms through the
/// primary port during a switchover, and what Switchman's ledger, page and metrics say of it.
extension ClusterIntegrationTests {
    /// How far the ledger's write-unavailability window may be from the writer's own gap between its
    /// last commit on the old leader and its first on the new one. The issue targets ±50 ms on a
    /// quiet benchmark machine; the writer's pacing alone adds up to 50 ms (it sleeps between commits),
    /// its reconnect (TCP, start-up, authentication) and first commit add a few more on the new leader
    /// side, and this shared 2-core machine, with other builds running, stalls threads for 100 ms and
    /// more. 500 ms still tells a ledger that measures the wrong thing (the request-to-confirmation
    /// time is seconds off) from one that measures the client's gap; the test prints both figures.
    static let ledgerTolerance = 0.5

    /// How the leader goes away in a ledger scenario.
    enum LedgerDisruption: String {
        case switchover
        case stop = "graceful stop"
        case crash
    }

    @Test("switchover under a 20 Hz writer: the ledger's write-unavailability window agrees with the writer's gap; /events.json, the page's SVG and the metrics show it",
          .timeLimit(.minutes(4)))
    func ledgerAgreesWithWriterOnSwitchover() async throws {
        try await ledgerScenario(.switchover, idBase: 70_000_000)
    }

    @Test("graceful stop of the leader under a 20 Hz writer: the ledger's window agrees with the writer's gap",
          .timeLimit(.minutes(4)))
    func ledgerAgreesWithWriterOnGracefulStop() async throws {
        try await ledgerScenario(.stop, idBase: 71_000_000)
    }

    @Test("crash of the leader under a 20 Hz writer: the ledger's window agrees with the writer's gap",
          .timeLimit(.minutes(4)))
    func ledgerAgreesWithWriterOnCrash() async throws {
        try await ledgerScenario(.crash, idBase: 72_000_000)
    }

    func ledgerScenario(_ disruption: LedgerDisruption, idBase: Int) async throws {
        let fixture = try ClusterFixture.required()
        let switchman = fixture.switchman
        let old = try await fixture.healthyLeader()
        let new = fixture.cluster.other(than: old)
        try createTable(on: old)
        let knownIDs = Set(try await ledger(switchman.statsPort).map { $0["id"] as? Int ?? -1 })

        let writer = Writer(port: switchman.primaryPort, table: Self.table, idBase: idBase)
        writer.start()
        try await waitUntil("the writer to commit on \(old.name)", timeout: .seconds(30)) {
            writer.report.acknowledged(on: old.pgPort).count >= 10 ? true : nil
        }
        var answer = ""
        switch disruption {
        case .switchover: answer = try await fixture.cluster.switchover(to: new)
        case .stop: try await fixture.cluster.stopNode(old)
        case .crash: try await fixture.cluster.killNode(old)
        }
        do {
            try await waitUntil("writes through Switchman to reach \(new.name)", timeout: .seconds(90)) {
                writer.report.acknowledged(on: new.pgPort).isEmpty ? nil : true
            }
        } catch {
            let report = try await writer.stop()
            Issue.record("\(error) after '\(answer)'; writer failures: \(report.failureSummary)")
            return
        }
        let settled = try await waitUntil("the ledger to settle the switchover to \(new.name)", timeout: .seconds(30)) { () async throws -> [String: Any]? in
            try await self.ledger(switchman.statsPort).first {
                !knownIDs.contains($0["id"] as? Int ?? -1) && $0["new_leader"] as? String == new.name && $0["settled"] as? Bool == true
            }
        }
        let id = settled["id"] as? Int ?? -1
        let report = try await writer.stop()
        // Held connections' outcomes reach the ledger with the next once-a-second sample.
        try await Task.sleep(for: .seconds(2))
        let entry = try #require(try await ledger(switchman.statsPort).first { $0["id"] as? Int == id })
        try checkWrites(report, old: old, new: new, what: "\(disruption.rawValue) (ledger)")

        // The writer's gap: from its last commit on the old leader to its first on the new one.
        let lastOld = try #require(report.acknowledged(on: old.pgPort).last).finished
        let firstNew = try #require(report.acknowledged(on: new.pgPort).first).finished
        let writerGap = seconds(lastOld, firstNew)
        let window = try #require(entry["unavailable_seconds"] as? Double, "no window in \(entry)")
        let held = entry["held"] as? [String: Any] ?? [:]
        func at(_ key: String) -> Double? { entry[key] as? Double }
        let start = at("switchover_requested_at") ?? at("leader_changed_at") ?? 0
        func offset(_ key: String) -> String { at(key).map { format($0 - start) } ?? "-" }
        print("""
            [integration] ledger: \(disruption.rawValue) \(old.name) → \(new.name) (generation \(entry["old_generation"] ?? "?") → \(entry["generation"] ?? "?")): ledger window \(format(window)) s \
            (\(entry["unavailable_until_source"] as? String ?? "?")), writer's gap \(format(writerGap)) s \
            (difference \(format(window - writerGap)) s, longest gap \(format(report.longestGap)) s); steps after the \(disruption == .switchover ? "failover znode" : "leader znode change"): \
            old leader's last reply \(offset("old_leader_last_reply_at")) s, leader znode \(offset("leader_changed_at")) s, \
            confirmed \(offset("confirmed_at")) s, first byte \(offset("first_byte_at")) s; sessions closed \(entry["sessions_closed"] ?? "?"), \
            held \(held["count"] ?? "?") (p50 \(held["wait_p50"] ?? "?"), p99 \(held["wait_p99"] ?? "?"), max \(held["wait_max"] ?? "?"), \
            timed out \(held["timed_out"] ?? "?"), abandoned \(held["abandoned"] ?? "?")), refused \(entry["refused"] ?? "?")
            """)
        #expect(abs(window - writerGap) <= Self.ledgerTolerance,
                "the ledger's window \(format(window)) s is not within \(Self.ledgerTolerance) s of the writer's gap \(format(writerGap)) s")
        #expect(entry["kind"] as? String == (disruption == .switchover ? "switchover" : "failover"))
        #expect(entry["old_leader"] as? String == old.name)
        #expect(entry["unavailable_until_source"] as? String == "first_byte", "no byte reached \(new.name) within a second of its confirmation")
        let steps = (disruption == .switchover ? ["switchover_requested_at"] : []).map(at)
            + ["leader_changed_at", "confirmed_at", "first_byte_at"].map(at)
        #expect(steps.allSatisfy { $0 != nil }, "a step is missing: \(entry)")
        let times = steps.compactMap { $0 }
        #expect(times == times.sorted(), "the steps are out of order: \(entry)")
        #expect((held["count"] as? Int ?? 0) >= 1, "the writer's reconnect was not counted as held: \(entry)")
        #expect(held["timed_out"] as? Int == 0)

        // The page: the timeline's SVG marks this failover; the metrics count its window.
        let page = try await HTTPGet.get(port: switchman.statsPort, path: "/")
        #expect(page.status == 200)
        let timeline = page.body.components(separatedBy: "<svg class=\"timeline\"").dropFirst().first?.components(separatedBy: "</svg>").first ?? ""
        #expect(timeline.contains("<g class=\"tl-failover\" data-failover-id=\"\(id)\""), "the timeline does not mark failover \(id)")
        #expect(timeline.contains("\(old.name) → \(new.name), writes unavailable"), "the mark's label does not name the change")
        let metrics = try await HTTPGet.get(port: switchman.statsPort, path: "/metrics").body
        let count = metrics.split(separator: "\n").first { $0.hasPrefix("switchman_write_unavailable_seconds_count") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        #expect(count >= 1, "switchman_write_unavailable_seconds_count is \(count)")
        if Chromium.isInstalled {
            let url = "http://127.0.0.1:\(switchman.statsPort)/"
            let dom = try await Chromium.dumpDOM(url)
            #expect(dom.contains("data-failover-id=\"\(id)\""), "Chromium's DOM has no mark of failover \(id)")
            let path = try Repository.artifactsDirectory("integration").appendingPathComponent("stats-page-failover-timeline.png").path
            try await Chromium.screenshot(url, to: path)
        }

        if disruption != .switchover { try await fixture.cluster.startNode(old) }
        try await rejoinsAsReplica(old, leader: new)
    }

    /// `/events.json`'s failovers, newest first.
    func ledger(_ statsPort: Int) async throws -> [[String: Any]] {
        let answer = try await HTTPGet.get(port: statsPort, path: "/events.json")
        guard answer.status == 200 else { throw IntegrationError("/events.json answered \(answer.status): \(answer.body)") }
        let document = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        return document?["failovers"] as? [[String: Any]] ?? []
    }
}
