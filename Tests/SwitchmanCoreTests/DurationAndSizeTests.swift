import Testing

@testable import SwitchmanCore

/// Durations and sizes as written in `proxy.conf`.
struct DurationAndSizeTests {
    static let durations: [(text: String, expected: Duration?)] = [
        ("250ms", .milliseconds(250)),
        ("4s", .seconds(4)),
        ("30m", .seconds(1_800)),
        ("2h", .seconds(7_200)),
        ("1d", .seconds(86_400)),
        ("1500us", .microseconds(1_500)),
        ("20ns", .nanoseconds(20)),
        ("30", .seconds(30)),
        ("0", .zero),
        ("0s", .zero),
        (" 4s ", .seconds(4)),
        ("", nil),
        ("s", nil),
        ("4", .seconds(4)),
        ("4 s", nil),
        ("-4s", nil),
        ("1.5s", nil),
        ("1m30s", nil),
        ("4S", nil),
        ("4sec", nil),
        ("abc", nil),
        ("99999999999999999999s", nil),
        ("9999999999999999d", nil),
    ]

    @Test("durations parse with units and bare seconds, and refuse anything else", arguments: durations)
    func durationParses(text: String, expected: Duration?) {
        #expect(DurationParser.parse(text) == expected)
    }

    static let readable: [(duration: Duration, text: String)] = [
        (.seconds(4), "4s"),
        (.milliseconds(250), "250ms"),
        (.seconds(1_800), "30m"),
        (.seconds(7_200), "2h"),
        (.seconds(86_400), "1d"),
        (.seconds(90), "90s"),
        (.milliseconds(1_500), "1500ms"),
        (.microseconds(1_500), "1500us"),
        (.nanoseconds(7), "7ns"),
        (.zero, "0s"),
        (.seconds(-4), "-4s"),
        (.milliseconds(-250), "-250ms"),
    ]

    @Test("humanReadable writes the largest exact unit", arguments: readable)
    func humanReadable(duration: Duration, text: String) {
        #expect(duration.humanReadable == text)
    }

    @Test("humanReadable output parses back to the same duration", arguments: durations.compactMap(\.expected))
    func humanReadableRoundTrips(duration: Duration) {
        #expect(DurationParser.parse(duration.humanReadable) == duration)
    }

    static let sizes: [(text: String, expected: Int?)] = [
        ("16MB", 16 << 20),
        ("16mb", 16 << 20),
        ("16M", 16 << 20),
        ("16MiB", 16 << 20),
        ("64KiB", 64 << 10),
        ("64KB", 64 << 10),
        ("1k", 1_024),
        ("1K", 1_024),
        ("2G", 2 << 30),
        ("1GB", 1 << 30),
        ("1TB", 1 << 40),
        ("4096", 4_096),
        ("4096B", 4_096),
        ("16 MB", 16 << 20),
        ("0", 0),
        ("", nil),
        ("MB", nil),
        ("-1MB", nil),
        ("1.5MB", nil),
        ("16XB", nil),
        ("99999999999TB", nil),
        ("lots", nil),
    ]

    @Test("sizes parse 1024-based units case-insensitively, and bare bytes", arguments: sizes)
    func sizeParses(text: String, expected: Int?) {
        #expect(SizeParser.parse(text) == expected)
    }

    static let formatted: [(bytes: Int, text: String)] = [
        (16 << 20, "16MB"), (64 << 10, "64KB"), (1 << 30, "1GB"), (1_000, "1000B"), (0, "0B"), (1_536, "1536B"),
    ]

    @Test("sizes format in the largest exact unit, and parse back", arguments: formatted)
    func sizeFormats(bytes: Int, text: String) {
        #expect(SizeParser.format(bytes) == text)
        #expect(SizeParser.parse(text) == bytes)
    }
}
