import Foundation
import SwitchmanCore
import Testing
@testable import StatsServer

@Suite struct StatsHTMLTests {
    /// The cluster fixture in the middle of a failover: no leader, ZooKeeper reconnecting, the primary
    /// port holding connections.
    static let failover: StatsSnapshot = {
        var s = StatsFixtures.cluster
        s.cluster?.leader = nil
        s.cluster?.session = .reconnecting
        s.listeners[0].routeState = .hold(reason: "no confirmed leader (failover in progress)")
        s.listeners[0].routeServers = []
        s.listeners[0].held = 5
        s.members[0].isLeader = false
        return s
    }()

    /// A new leader named but not yet confirmed over SQL.
    static let unconfirmed: StatsSnapshot = {
        var s = StatsFixtures.cluster
        s.cluster?.leader = LeaderStats(name: "pg-a", since: StatsFixtures.now - 0.05, confirmed: false)
        s.cluster?.session = .expired
        return s
    }()

    /// An operator paused the primary port, drained one member and put another in maintenance.
    static let controlled: StatsSnapshot = {
        var s = StatsFixtures.cluster
        s.listeners[0].paused = true
        s.listeners[0].routeState = .hold(reason: "paused by an operator")
        s.members[0].adminState = .drain
        s.members[0].statusReason = "primary: drained, but leader: writes go to it"
        s.members[1].adminState = .maint
        s.members[1].status = .maint
        return s
    }()

    static let snapshots = [StatsFixtures.cluster, StatsFixtures.staticOnly, failover, unconfirmed, controlled]

    @Test("the page shows a paused listener, the operator's member states and the leader-wins reason")
    func pageShowsOperatorState() {
        let page = StatsHTML.render(Self.controlled, refresh: .seconds(2))
        #expect(page.contains("<span class=\"chip warn\">paused</span>"))
        #expect(page.contains("<span class=\"chip warn\">admin: drain</span>"))
        #expect(page.contains("<span class=\"chip warn\">MAINT</span>"))
        #expect(page.contains("drained, but leader: writes go to it"))
        let plain = StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2))
        #expect(!plain.contains("<span class=\"chip warn\">admin: "))
    }

    @Test func textFromZooKeeperIsEscapedEverywhere() {
        let page = StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2))
        #expect(!page.contains("<script>alert"))
        #expect(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"))
        #expect(page.components(separatedBy: "<script>").count == 2, "only the page's own script")
        #expect(page.contains("no server reachable &lt;all 1 down&gt;"))
    }

    @Test func pageIsSelfContained() {
        let page = StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2))
        for forbidden in ["http://", "https://", " src=", " href=", "<link", "@import", "url("] {
            #expect(!page.contains(forbidden), "external reference: \(forbidden)")
        }
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
        #expect(page.contains("@media (max-width:760px)"))
    }

    @Test("refresh drives both the script and the no-script reload", arguments: [
        (Duration.seconds(2), "2000", "2"), (.milliseconds(1500), "1500", "2"), (.milliseconds(10), "250", "1"), (.seconds(30), "30000", "30"),
    ])
    func refreshInterval(_ refresh: Duration, _ ms: String, _ seconds: String) {
        let page = StatsHTML.render(StatsFixtures.staticOnly, refresh: refresh)
        #expect(page.contains("data-refresh-ms=\"\(ms)\""))
        #expect(page.contains("<noscript><meta http-equiv=\"refresh\" content=\"\(seconds)\"></noscript>"))
    }

    @Test func leaderAndStatusesAreMarked() {
        let page = StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2))
        #expect(page.contains("<div class=\"big\">Leader <span class=\"leader-name\">pg-b</span></div>"))
        #expect(page.contains("<tr class=\"leader\"><td data-label=\"Member\"><b>pg-b</b>"))
        #expect(page.contains("<span class=\"chip excl\">EXCLUDED</span>"))
        #expect(page.contains("<span class=\"chip down\">DOWN</span>"))
        #expect(page.contains("17 sessions closed · confirmed in 120 ms"))
        let failover = StatsHTML.render(Self.failover, refresh: .seconds(2))
        #expect(failover.contains("<div class=\"banner bad\"><div class=\"big\">No leader</div>"))
        #expect(failover.contains("primary: hold — no confirmed leader (failover in progress)"))
        let unconfirmed = StatsHTML.render(Self.unconfirmed, refresh: .seconds(2))
        #expect(unconfirmed.contains("<div class=\"banner warn\">"))
        #expect(unconfirmed.contains("not confirmed yet · since 2023-11-14 22:13:19Z <span class=\"muted\">(300 ms ago)</span>"))
    }

    @Test func emptyStatesSayWhatIsMissing() {
        let page = StatsHTML.render(StatsFixtures.staticOnly, refresh: .seconds(2))
        #expect(page.contains("No cluster configured: static listeners only."))
        #expect(page.contains("No members."))
        #expect(page.contains("No events yet."))
        #expect(page.contains("<div class=\"big\">Static listeners</div>"))
    }

    static let node = TestSupport.which("node") ?? TestSupport.which("nodejs")

    /// The page's script re-renders each section from `stats.json`; it must produce exactly the
    /// server's markup, or the page would change look (or lose escaping) after the first poll.
    @Test(
        "the page script renders the same sections from stats.json as the server",
        .enabled(if: node != nil || TestSupport.flag("SWITCHMAN_REQUIRE_NODE"), "node not installed"),
        arguments: 0..<snapshots.count
    )
    func scriptRendersTheServersSections(_ index: Int) throws {
        let node = try #require(Self.node, "node not found on PATH but SWITCHMAN_REQUIRE_NODE=1")
        let snapshot = Self.snapshots[index]
        let page = StatsHTML.render(snapshot, refresh: .seconds(2))
        let script = try #require(page.components(separatedBy: "<script>").last?.components(separatedBy: "</script>").first)
        let harness = script + """

            process.stdout.write(JSON.stringify(globalThis.switchmanSections(JSON.parse(require("fs").readFileSync(0, "utf8")))));

            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchman-stats-\(UUID().uuidString).js")
        try harness.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try TestSupport.run(node, [file.path], input: StatsJSON.render(snapshot))
        #expect(result.status == 0, "node: \(result.err)")
        let fromScript = try #require(JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [[String]])
        let fromServer = StatsHTML.sections(snapshot).map { [$0.id, $0.html] }
        #expect(fromScript.map { $0[0] } == fromServer.map { $0[0] })
        for (a, b) in zip(fromScript, fromServer) {
            #expect(a[1] == b[1], "section \(b[0]) differs")
        }
    }
}
