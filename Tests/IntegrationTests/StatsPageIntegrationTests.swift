import Foundation
import Testing

/// The operators' view on a live Switchman in front of the real cluster: `/metrics` checked by
/// Prometheus' own tool, and the page rendered by a real browser.
extension ClusterIntegrationTests {
    @Test("/metrics of a live Switchman passes promtool check metrics", .timeLimit(.minutes(2)))
    func liveMetricsPassPromtool() async throws {
        let fixture = try ClusterFixture.required()
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            Issue.record("promtool not found at \(promtool): install Debian's prometheus package (scripts/install-deps.sh)")
            return
        }
        let leader = try await fixture.healthyLeader()
        // a session through each port, so per-member and per-listener series carry values
        _ = try PGConnection(port: fixture.switchman.primaryPort).whereAmI()
        _ = try PGConnection(port: fixture.switchman.replicaPort).whereAmI()
        let answer = try await HTTPGet.get(port: fixture.switchman.statsPort, path: "/metrics")
        #expect(answer.status == 200)
        try answer.body.write(to: try Repository.artifactsDirectory("integration").appendingPathComponent("metrics.txt"),
                              atomically: true, encoding: .utf8)
        let check = try await Command.run(promtool, ["check", "metrics"], timeout: .seconds(60), stdin: answer.body)
        #expect(check.status == 0, "promtool check metrics: \(check.output)")
        #expect(answer.body.contains("switchman_"), "no switchman_* metric on /metrics")
        #expect(answer.body.contains("\"\(leader.name)\""), "no series labelled with the leader \(leader.name)")
    }

    @Test("the stats page in headless Chromium names the leader and the members, before and after a switchover",
          .enabled(if: Chromium.isInstalled, "chromium is not installed (apt-get install chromium)"), .timeLimit(.minutes(4)))
    func statsPageInChromiumFollowsSwitchover() async throws {
        let fixture = try ClusterFixture.required()
        let leader = try await fixture.healthyLeader()
        let other = fixture.cluster.other(than: leader)
        let url = "http://127.0.0.1:\(fixture.switchman.statsPort)/"
        let artifacts = try Repository.artifactsDirectory("integration")

        let before = try await Chromium.dumpDOM(url)
        checkPage(before, leader: leader, replica: other, when: "before the switchover")
        try await Chromium.screenshot(url, to: artifacts.appendingPathComponent("stats-page-before-switchover.png").path)

        _ = try await fixture.cluster.switchover(to: other)
        try await fixture.switchman.waitForStats("Switchman to route writes to \(other.name)") { $0.routesWrites(to: other.name) }
        try await fixture.cluster.waitHealthy()
        try await fixture.switchman.waitForStats("the read port to route to \(leader.name)") {
            $0.listener("replicas")?.route.servers == [leader.name]
        }

        let after = try await Chromium.dumpDOM(url)
        checkPage(after, leader: other, replica: leader, when: "after the switchover")
        #expect(after.contains("confirmed after"), "the events do not show the confirmed leader change")
        let screenshot = artifacts.appendingPathComponent("stats-page-after-switchover.png").path
        try await Chromium.screenshot(url, to: screenshot)
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "the screenshot is not a PNG of a rendered page")
    }

    /// The rendered page's banner names `leader`, its members table lists both nodes with `leader` on
    /// the highlighted row.
    func checkPage(_ dom: String, leader: ClusterNode, replica: ClusterNode, when: String) {
        #expect(dom.contains("<span class=\"leader-name\">\(leader.name)</span>"), "\(when): the banner does not name the leader \(leader.name)")
        let members = matches(of: #"<td data-label="Member"><b>([^<]+)</b>"#, in: dom)
        #expect(Set(members) == [leader.name, replica.name], "\(when): the members table lists \(members)")
        let highlighted = matches(of: #"<tr class="leader"><td data-label="Member"><b>([^<]+)</b>"#, in: dom)
        #expect(highlighted == [leader.name], "\(when): the highlighted leader row is \(highlighted)")
    }

    private func matches(of pattern: String, in text: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
