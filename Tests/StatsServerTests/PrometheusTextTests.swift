import Foundation
import SwitchmanCore
import Testing
@testable import StatsServer

@Suite struct PrometheusTextTests {
    /// `name{labels} value` with label values in the escaped form of the exposition format.
    static var sampleLine: Regex<(Substring, Substring, Substring?, Substring?, Substring?, Substring?, Substring?, Substring)> { #/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\\\|\\"|\\n|[^"\\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(\\\\|\\"|\\n|[^"\\\n])*")*\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/# }

    @Test("every line is a HELP, a TYPE or a well-formed sample of a declared family", arguments: [
        StatsFixtures.cluster, StatsFixtures.staticOnly,
    ])
    func everyLineParses(_ snapshot: StatsSnapshot) throws {
        let text = PrometheusText.render(snapshot)
        #expect(text.hasSuffix("\n"))
        var help: Set<String> = [], types: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).split(separator: " ")[0])
                #expect(!help.contains(name), "HELP twice for \(name)")
                help.insert(name)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                #expect(parts.count == 2 && ["counter", "gauge", "histogram"].contains(parts[1]))
                types[String(parts[0])] = String(parts[1])
            } else {
                let match = try #require(try Self.sampleLine.wholeMatch(in: String(line)), "unparsable line: \(line)")
                var name = String(match.1)
                // A histogram's samples are its family name with _bucket, _sum or _count.
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                    let family = String(name.dropLast(suffix.count))
                    if types[family] == "histogram" { name = family }
                }
                #expect(help.contains(name) && types[name] != nil, "sample before its HELP/TYPE: \(line)")
            }
        }
        for (name, type) in types {
            #expect(name.hasPrefix("switchman_"))
            #expect(name.hasSuffix("_total") == (type == "counter"), "\(name) is a \(type)")
        }
    }

    @Test func labelValuesFromZooKeeperAreEscaped() {
        let text = PrometheusText.render(StatsFixtures.cluster)
        #expect(text.contains(#"switchman_member_leader{member="<script>alert(\"x\")</script>&'",scope="demo"} 0"#))
        #expect(PrometheusWriter.escapeLabel("a\\b\"c\nd") == #"a\\b\"c\nd"#)
        #expect(PrometheusWriter.escapeHelp("a\\b\nc") == #"a\\b\nc"#)
    }

    @Test func enumerationsHaveExactlyOneCurrentValue() {
        let text = PrometheusText.render(StatsFixtures.cluster)
        let route = text.split(separator: "\n").filter { $0.hasPrefix("switchman_listener_route_state{listener=\"legacy\"") }
        #expect(route == [
            #"switchman_listener_route_state{listener="legacy",state="ready"} 0"#,
            #"switchman_listener_route_state{listener="legacy",state="hold"} 0"#,
            #"switchman_listener_route_state{listener="legacy",state="unavailable"} 1"#,
        ])
        #expect(text.contains(#"switchman_cluster_leader{scope="demo",member="pg-b"} 1"#))
        #expect(text.contains(#"switchman_member_status{listener="legacy",member="10.9.9.9:5432",status="down"} 1"#))
    }

    @Test func clusterFamiliesAppearOnlyWithACluster() {
        #expect(!PrometheusText.render(StatsFixtures.staticOnly).contains("switchman_cluster_"))
        #expect(!PrometheusText.render(StatsFixtures.staticOnly).contains("switchman_zookeeper_"))
        var noLeader = StatsFixtures.cluster
        noLeader.cluster?.leader = nil
        let text = PrometheusText.render(noLeader)
        #expect(text.contains("switchman_cluster_leader_confirmed{scope=\"demo\"} 0"))
        #expect(!text.contains("switchman_cluster_leader{"))
    }

    @Test func everyFamilyIsDocumentedAndEveryDocumentedMetricIsRendered() throws {
        let doc = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/STATS.md"), encoding: .utf8)
        let section = doc.components(separatedBy: "## Metrics")[1]
        let documented = Set(section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `switchman_") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        })
        let rendered = Set(PrometheusText.render(StatsFixtures.cluster).split(separator: "\n")
            .filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        #expect(rendered.subtracting(documented).sorted() == [])
        #expect(documented.subtracting(rendered).sorted() == [])
    }

    static let promtool = TestSupport.which("promtool")

    /// CI sets TEST_REQUIRE_PROMTOOL=1: then a missing promtool fails this test instead of skipping it.
    @Test(.enabled(if: promtool != nil || TestSupport.flag("TEST_REQUIRE_PROMTOOL"), "promtool not installed (Debian package prometheus)"))
    func promtoolAcceptsTheExposition() throws {
        let promtool = try #require(Self.promtool, "promtool not found on PATH but TEST_REQUIRE_PROMTOOL=1")
        for snapshot in [StatsFixtures.cluster, StatsFixtures.staticOnly] {
            let result = try TestSupport.run(promtool, ["check", "metrics"], input: PrometheusText.render(snapshot))
            #expect(result.status == 0, "promtool: \(result.out)\(result.err)")
        }
        // The check can fail: a counter without `_total` and HELP is reported.
        let bad = try TestSupport.run(promtool, ["check", "metrics"], input: "# TYPE switchman_bad counter\nswitchman_bad 1\n")
        #expect(bad.status != 0)
    }
}
