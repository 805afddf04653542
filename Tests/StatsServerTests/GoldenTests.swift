import Foundation
import Testing
@testable import StatsServer

/// Expected renderer outputs, as string literals in `Golden/*.swift`.
enum Golden {}

/// The renderers, run on fixed snapshots, produce exactly the committed outputs. After an intended
/// change, regenerate with `SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests` and review the diff.
@Suite struct GoldenTests {
    static let cases: [(name: String, actual: String, expected: String)] = [
        ("clusterJSON", StatsJSON.render(StatsFixtures.cluster), Golden.clusterJSON),
        ("clusterMetrics", PrometheusText.render(StatsFixtures.cluster), Golden.clusterMetrics),
        ("clusterEvents", LedgerJSON.render(StatsFixtures.cluster), Golden.clusterEvents),
        ("clusterHTML", withoutAssets(StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2))), Golden.clusterHTML),
        ("staticJSON", StatsJSON.render(StatsFixtures.staticOnly), Golden.staticJSON),
        ("staticMetrics", PrometheusText.render(StatsFixtures.staticOnly), Golden.staticMetrics),
        ("staticHTML", withoutAssets(StatsHTML.render(StatsFixtures.staticOnly, refresh: .milliseconds(1500))), Golden.staticHTML),
    ]

    /// The page with its inline stylesheet and script replaced by markers: the goldens pin the
    /// server-rendered markup, and `pagesEmbedTheirAssetsVerbatim` pins the assets, once, instead of
    /// every golden carrying a copy of them.
    static func withoutAssets(_ page: String) -> String {
        page.replacingOccurrences(of: "<style>\(StatsHTML.css)</style>", with: "<style>/* StatsHTML.css */</style>")
            .replacingOccurrences(of: "<script>\(StatsHTML.script)</script>", with: "<script>/* StatsHTML.script */</script>")
    }

    @Test("every page embeds the stylesheet and the script verbatim, once each")
    func pagesEmbedTheirAssetsVerbatim() {
        for page in [StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2)),
                     StatsHTML.render(StatsFixtures.staticOnly, refresh: .milliseconds(1500))] {
            #expect(page.components(separatedBy: "<style>\(StatsHTML.css)</style>").count == 2)
            #expect(page.components(separatedBy: "<script>\(StatsHTML.script)</script>").count == 2)
            #expect(!Self.withoutAssets(page).contains(StatsHTML.css))
        }
    }

    @Test("renderer output equals the committed golden", arguments: 0..<cases.count)
    func outputMatchesGolden(_ index: Int) throws {
        let c = Self.cases[index]
        if TestSupport.flag("SWITCHMAN_UPDATE_GOLDEN") {
            let url = TestSupport.repositoryRoot.appendingPathComponent("Tests/StatsServerTests/Golden/Golden+\(c.name).swift")
            precondition(!c.actual.contains("\"\"\"#"), "golden text cannot hold the raw string delimiter")
            let source = """
            // Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
            extension Golden {
                static let \(c.name) = #\"\"\"
            \(c.actual)
            \"\"\"#
            }

            """
            try source.write(to: url, atomically: true, encoding: .utf8)
        }
        if c.actual != c.expected {
            let a = c.actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = c.expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
            Issue.record("\(c.name) differs from its golden at line \(line + 1):\nactual:   \(line < a.count ? a[line] : "<end>")\nexpected: \(line < e.count ? e[line] : "<end>")")
        }
    }
}
