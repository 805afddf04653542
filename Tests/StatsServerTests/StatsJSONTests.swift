import Foundation
import SwitchmanCore
import Testing
@testable import StatsServer

@Suite struct StatsJSONTests {
    /// Every key path of a JSON value: `a.b`, arrays as `a[]`.
    static func paths(_ value: Any, prefix: String = "") -> Set<String> {
        var out: Set<String> = []
        if let object = value as? [String: Any] {
            for (key, child) in object {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                out.insert(path)
                out.formUnion(paths(child, prefix: path))
            }
        } else if let array = value as? [Any] {
            for child in array { out.formUnion(paths(child, prefix: prefix + "[]")) }
        }
        return out
    }

    /// The key paths documented in docs/STATS.md's JSON table.
    static func documentedPaths() throws -> Set<String> {
        let doc = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("docs/STATS.md"), encoding: .utf8)
        let section = doc.components(separatedBy: "## JSON schema")[1].components(separatedBy: "\n## ")[0]
        return Set(section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `") else { return nil }
            return line.dropFirst(3).split(separator: "`").first.map(String.init)
        })
    }

    static func parse(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func renderedJSONParsesBackWithTheSnapshotsValues() throws {
        let json = try Self.parse(StatsJSON.render(StatsFixtures.cluster))
        #expect(json["schema_version"] as? Int == 1)
        #expect(json["generated_at"] as? Double == 1_700_000_000.25)
        let cluster = try #require(json["cluster"] as? [String: Any])
        let leader = try #require(cluster["leader"] as? [String: Any])
        #expect(leader["name"] as? String == "pg-b")
        #expect(leader["confirmed"] as? Bool == true)
        let members = try #require(json["members"] as? [[String: Any]])
        #expect(members[2]["name"] as? String == #"<script>alert("x")</script>&'"#)
        #expect(members[2]["status"] as? String == "EXCLUDED")
        #expect(members[3]["address"] is NSNull)
        let events = try #require(json["events"] as? [[String: Any]])
        #expect(events[4]["message"] as? String == "<script>alert(\"x\")</script>&' EXCLUDED: lag\nsecond line")
        let change = try #require(events[1]["leader_change"] as? [String: Any])
        #expect(change["sessions_closed"] as? Int == 17)
        #expect(change["time_to_confirmation"] as? Double == 0.12)
        let listeners = try #require(json["listeners"] as? [[String: Any]])
        #expect((listeners[0]["bytes_out"] as? NSNumber)?.int64Value == 9_876_543_210)
    }

    @Test func everyKeyIsDocumentedAndEveryDocumentedKeyIsPresent() throws {
        let rendered = try Self.paths(Self.parse(StatsJSON.render(StatsFixtures.cluster)))
        let documented = try Self.documentedPaths()
        #expect(rendered.subtracting(documented).sorted() == [], "keys missing from docs/STATS.md")
        #expect(documented.subtracting(rendered).sorted() == [], "documented keys the cluster fixture does not produce")
    }

    @Test func absentValuesAreNullNotMissing() throws {
        let json = try Self.parse(StatsJSON.render(StatsFixtures.staticOnly))
        #expect(json["cluster"] is NSNull)
        let process = try #require(json["process"] as? [String: Any])
        #expect(process["config_file"] is NSNull)
        #expect(process["last_reload"] is NSNull)
        let listener = try #require((json["listeners"] as? [[String: Any]])?.first)
        let route = try #require(listener["route"] as? [String: Any])
        #expect(route["reason"] is NSNull)
        #expect(Set(json.keys) == ["schema_version", "generated_at", "process", "cluster", "listeners", "members", "events", "loops"])
    }

    @Test func keysFollowTheDocumentedOrder() {
        let text = StatsJSON.render(StatsFixtures.cluster)
        let order = ["\"schema_version\"", "\"generated_at\"", "\"process\"", "\"cluster\"", "\"listeners\"", "\"members\"", "\"events\"", "\"loops\""]
        let positions = order.map { text.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test("strings are escaped for JSON", arguments: [
        ("a\"b", #""a\"b""#), ("back\\slash", #""back\\slash""#), ("line\nfeed\ttab", #""line\nfeed\ttab""#),
        ("\u{1}\u{1f}", #""\u0001\u001f""#), ("\u{2028}", #""\u2028""#), ("é ✓", "\"é ✓\""),
    ])
    func stringsAreEscaped(_ input: String, _ expected: String) {
        #expect(JSONValue.string(input).serialized() == expected)
    }

    @Test("numbers: at most 3 decimals, integral without fraction, non-finite as null", arguments: [
        (1_700_000_000.0, "1700000000"), (0.1234567, "0.123"), (2.5, "2.5"), (-0.0004, "0"), (Double.nan, "null"),
        (Double.infinity, "null"), (1e20, "1e+20"),
    ])
    func numbersAreFormatted(_ x: Double, _ expected: String) {
        #expect(JSONValue.number(x).serialized() == expected)
    }
}
