import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SwitchmanCore
import Testing
@testable import StatsServer

/// The failover ledger's renderings: the SVG timeline and plots, `/events.json`, the histograms.
struct LedgerRenderTests {
    static let now = 1_700_000_000.0

    /// A ledger with one failover whose `leader` znode changed at `changedAt`.
    static func ledger(changedAt: Double, window: (Double, Double)? = nil) -> LedgerStats {
        let change = LeaderChangeFacts(id: 9, oldLeader: "pg<0>", newLeader: "pg&1", oldGeneration: 3, generation: 4,
                                       leaderChangedAt: changedAt, confirmedAt: changedAt + 0.5)
        let record = FailoverRecord(change: change, unavailableFrom: window?.0 ?? changedAt, unavailableUntil: window?.1,
                                    settled: window != nil)
        var points: [SeriesPoint] = []
        for i in 0..<900 {
            let t: Double = now - 899 + Double(i)
            let held: Int = i == 450 ? 4 : 0
            points.append(SeriesPoint(time: t, sessionsPerSecond: Double(i % 7), bytesPerSecond: Double(i * 100), held: held, ready: held == 0))
        }
        return LedgerStats(failovers: [record], series: [
            ListenerSeries(listener: "primary", role: .primary, points: points),
            ListenerSeries(listener: "reads \"r\"", role: .replica, points: points),
        ])
    }

    /// Parses `text` as XML; the first parse error, or nil.
    static func xmlError(_ text: String) -> String? {
        let parser = XMLParser(data: Data(text.utf8))
        return parser.parse() ? nil : (parser.parserError.map { "\($0)" } ?? "parse failed")
    }

    @Test("the timeline is well-formed XML, names from ZooKeeper escaped")
    func timelineIsWellFormed() {
        let svg = LedgerSVG.timeline(Self.ledger(changedAt: Self.now - 100, window: (Self.now - 101, Self.now - 99)), now: Self.now)
        #expect(Self.xmlError(svg) == nil, "\(Self.xmlError(svg) ?? "")")
        #expect(svg.contains("pg&lt;0&gt; → pg&amp;1"))
        #expect(!svg.contains("pg<0>"))
    }

    @Test("the failover is marked at the x of its leader znode change", arguments: [450.0, 900.0 * 0.25, 0])
    func failoverMarkedAtItsTime(_ secondsAgo: Double) {
        let svg = LedgerSVG.timeline(Self.ledger(changedAt: Self.now - secondsAgo), now: Self.now)
        let expected = LedgerSVG.timelineLeft + (900 - secondsAgo) / 900 * LedgerSVG.plotWidth
        let x = LedgerSVG.coord(expected)
        #expect(svg.contains("<g class=\"tl-failover\" data-failover-id=\"9\" data-x=\"\(x)\">"))
        #expect(svg.contains("<line class=\"tl-mark\" x1=\"\(x)\""))
    }

    @Test("at 450 s ago in a 15-minute window the mark is in the middle of the plot area")
    func markInTheMiddle() {
        let svg = LedgerSVG.timeline(Self.ledger(changedAt: Self.now - 450), now: Self.now)
        // 100 + 790 / 2
        #expect(svg.contains("data-x=\"495\""))
    }

    @Test("a failover older than the window is not marked")
    func oldFailoverNotMarked() {
        let svg = LedgerSVG.timeline(Self.ledger(changedAt: Self.now - 901), now: Self.now)
        #expect(!svg.contains("tl-failover"))
    }

    @Test("the unavailability window and unready seconds are drawn red on the primary lane only")
    func unavailabilityDrawn() {
        let svg = LedgerSVG.timeline(Self.ledger(changedAt: Self.now - 100, window: (Self.now - 101, Self.now - 99)), now: Self.now)
        let x0 = LedgerSVG.coord(LedgerSVG.x(Self.now - 101, now: Self.now, window: 900))
        #expect(svg.contains("<rect class=\"tl-down tl-window\" x=\"\(x0)\""))
        #expect(svg.components(separatedBy: "<g class=\"tl-lane\"").count == 2, "one lane: the primary listener")
        #expect(svg.contains("<rect class=\"tl-down\""), "the unready second of the series")
    }

    @Test("close failovers keep their marks; the newest three get a line of text each, older ones a tooltip only")
    func closeFailoversDoNotOverlap() throws {
        var ledger = Self.ledger(changedAt: Self.now - 100)
        let first = try #require(ledger.failovers.first)
        ledger.failovers = (0..<5).map { i in
            var record = first
            record.change.id = UInt64(10 - i)
            record.change.leaderChangedAt = Self.now - 100 - Double(i) * 5
            return record
        }
        let svg = LedgerSVG.timeline(ledger, now: Self.now)
        #expect(Self.xmlError(svg) == nil)
        #expect(svg.components(separatedBy: "<line class=\"tl-mark\"").count == 6)
        let notes = svg.components(separatedBy: "<text class=\"tl-note\"").dropFirst()
        #expect(notes.count == 3)
        let ys = Set(notes.compactMap { $0.components(separatedBy: "y=\"").dropFirst().first?.components(separatedBy: "\"").first })
        #expect(ys.count == 3, "labels share a line: \(ys)")
    }

    @Test("consecutive unready seconds make one run")
    func downRuns() {
        let points = [SeriesPoint(time: 10, ready: true), SeriesPoint(time: 11, ready: false), SeriesPoint(time: 12, ready: false),
                      SeriesPoint(time: 13, ready: true), SeriesPoint(time: 20, ready: false)]
        let runs = LedgerSVG.downRuns(points)
        #expect(runs.map(\.from) == [10, 19])
        #expect(runs.map(\.to) == [12, 20])
    }

    @Test("the plots are well-formed XML with one polyline each")
    func sparklinesWellFormed() {
        let ledger = Self.ledger(changedAt: Self.now - 100)
        let html = LedgerHTML.plots(ledger, now: Self.now)
        #expect(html.components(separatedBy: "<polyline").count == 1 + 3 * ledger.series.count)
        for svg in html.components(separatedBy: "<svg").dropFirst().map({ "<svg" + $0.components(separatedBy: "</svg>")[0] + "</svg>" }) {
            #expect(Self.xmlError(svg) == nil, "\(Self.xmlError(svg) ?? "")")
        }
    }

    @Test("/events.json carries every field of a failover, and the recent events")
    func eventsJSONShape() throws {
        let text = LedgerJSON.render(StatsFixtures.cluster)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(doc["schema_version"] as? Int == 1)
        let failovers = try #require(doc["failovers"] as? [[String: Any]])
        #expect(failovers.count == 2)
        let newest = failovers[0]
        #expect(Set(newest.keys) == [
            "id", "kind", "old_leader", "new_leader", "old_generation", "generation", "switchover_requested_at", "leader_changed_at",
            "confirmed_at", "old_leader_last_reply_at", "first_byte_at", "unavailable_from", "unavailable_until", "unavailable_seconds",
            "unavailable_until_source", "settled", "sessions_closed", "held", "refused",
        ])
        #expect(newest["kind"] as? String == "failover")
        #expect(failovers[1]["kind"] as? String == "switchover")
        #expect(newest["new_leader"] as? String == "pg-b")
        #expect(newest["unavailable_seconds"] as? Double == 2.43)
        #expect(newest["switchover_requested_at"] is NSNull)
        let held = try #require(newest["held"] as? [String: Any])
        #expect(held["count"] as? Int == 3)
        #expect(held["wait_p99"] as? Double == 1.7)
        let histogram = try #require(doc["write_unavailable_seconds"] as? [String: Any])
        let buckets = try #require(histogram["buckets"] as? [[String: Any]])
        #expect(buckets.last?["le"] as? String == "+Inf")
        #expect(buckets.last?["count"] as? Int == 2)
        #expect((doc["events"] as? [Any])?.count == StatsFixtures.cluster.events.count)
    }

    @Test("/events.json without a ledger is an empty history, not an error")
    func eventsJSONWithoutLedger() throws {
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(LedgerJSON.render(StatsFixtures.staticOnly).utf8)) as? [String: Any])
        #expect((doc["failovers"] as? [Any])?.isEmpty == true)
    }

    @Test("the histograms have cumulative buckets up to +Inf, then _sum and _count")
    func histogramText() {
        let text = PrometheusText.render(StatsFixtures.cluster)
        #expect(text.contains("# TYPE switchman_write_unavailable_seconds histogram\n"))
        #expect(text.contains("switchman_write_unavailable_seconds_bucket{scope=\"demo\",le=\"0.25\"} 0\n"))
        #expect(text.contains("switchman_write_unavailable_seconds_bucket{scope=\"demo\",le=\"0.5\"} 1\n"))
        #expect(text.contains("switchman_write_unavailable_seconds_bucket{scope=\"demo\",le=\"5\"} 2\n"))
        #expect(text.contains("switchman_write_unavailable_seconds_bucket{scope=\"demo\",le=\"+Inf\"} 2\n"))
        #expect(text.contains("switchman_write_unavailable_seconds_sum{scope=\"demo\"} 2.85\n"))
        #expect(text.contains("switchman_write_unavailable_seconds_count{scope=\"demo\"} 2\n"))
        #expect(text.contains("switchman_hold_wait_seconds_bucket{listener=\"primary\",le=\"1\"} 0\n"))
        #expect(text.contains("switchman_hold_wait_seconds_bucket{listener=\"primary\",le=\"2.5\"} 3\n"))
        #expect(text.contains("switchman_hold_wait_seconds_count{listener=\"replicas\"} 0\n"))
        #expect(!PrometheusText.render(StatsFixtures.staticOnly).contains("switchman_write_unavailable_seconds"))
    }

    @Test("the page shows the Failovers section with the timeline; /ledger.html serves it alone")
    func pageHasTimeline() {
        let page = StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2))
        #expect(page.contains("<h2>Failovers</h2><div id=\"s-ledger\"><svg class=\"timeline\""))
        #expect(page.contains("data-failover-id=\"2\""))
        #expect(!StatsHTML.render(StatsFixtures.staticOnly, refresh: .seconds(2)).contains("id=\"s-ledger\""))
        let fragment = StatsRoutes.respond(to: HTTPRequest(method: .get, path: "/ledger.html", headers: []), snapshot: StatsFixtures.cluster,
                                           configuration: StatsRouteConfiguration())
        #expect(fragment.status == 200)
        #expect(fragment.bodyText == LedgerHTML.render(StatsFixtures.cluster))
    }
}
