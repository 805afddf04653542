import Testing
@testable import StatsServer

@Suite struct StatsFormatTests {
    @Test("UTC time of an epoch second", arguments: [
        (0.0, "1970-01-01 00:00:00Z"), (1_700_000_000.999, "2023-11-14 22:13:20Z"), (951_782_400, "2000-02-29 00:00:00Z"),
        (4_102_444_799, "2099-12-31 23:59:59Z"), (-1, "1969-12-31 23:59:59Z"), (1_709_164_800, "2024-02-29 00:00:00Z"),
    ])
    func utc(_ t: Double, _ expected: String) {
        #expect(StatsFormat.utc(t) == expected)
    }

    @Test("durations for people", arguments: [
        (0.0, "0 ms"), (0.1204, "120 ms"), (0.9994, "999 ms"), (0.9996, "1 s"), (59.9, "59 s"), (60, "1 min 0 s"),
        (3599, "59 min 59 s"), (3600, "1 h 0 min"), (86_399, "23 h 59 min"), (90_000, "1 d 1 h"), (-5, "0 ms"),
    ])
    func duration(_ s: Double, _ expected: String) {
        #expect(StatsFormat.duration(s) == expected)
    }

    @Test("byte counts in binary units", arguments: [
        (0.0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (12.5, "13 B"), (33_554_432, "32.0 MiB"),
        (9_876_543_210, "9.2 GiB"), (-3, "0 B"),
    ])
    func bytes(_ b: Double, _ expected: String) {
        #expect(StatsFormat.bytes(b) == expected)
    }

    @Test func htmlEscapesTheFiveSpecialCharacters() {
        #expect(StatsFormat.html(#"<a href="x">&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
        #expect(StatsFormat.html("plain é") == "plain é")
    }
}

@Suite struct StatsFormatAbsurdValueTests {
    @Test("absurd numbers render instead of trapping", arguments: [Double.nan, .infinity, -.infinity, 1e300, -1e300])
    func absurdValues(_ x: Double) {
        _ = StatsFormat.utc(x)
        _ = StatsFormat.duration(x)
        _ = StatsFormat.bytes(x)
        _ = StatsFormat.tenths(x)
        _ = StatsFormat.jsonNumber(x)
        #expect(StatsFormat.utc(x) == "n/a")
    }

    @Test func aSnapshotFullOfAbsurdValuesStillRendersEverywhere() {
        var s = StatsFixtures.cluster
        s.generatedAt = .nan
        s.process.startTime = .infinity
        s.listeners[0].bytesInPerSecond = .infinity
        s.listeners[0].sessionsPerSecond = -.nan
        s.members[1].lagBytes = Int.max
        s.members[1].sessionsTotal = UInt64.max
        s.loops[0].heartbeatAge = 1e300
        #expect(StatsHTML.render(s, refresh: .seconds(2)).contains("n/a"))
        #expect(StatsJSON.render(s).contains("\"generated_at\": null"))
        #expect(PrometheusText.render(s).contains("switchman_loop_heartbeat_age_seconds{loop=\"0\"} 1e+300"))
    }
}
