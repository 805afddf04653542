/// Reads durations as written in `proxy.conf`: a whole number followed by a unit, `250ms`, `4s`,
/// `30m`, `2h`, `1d` (also `us` and `ns`), or a bare whole number of seconds (`30`).
///
/// Negative values, fractions and combinations (`1m30s`) are not accepted.
public enum DurationParser {
    /// The units, longest suffix first so `ms` is not read as `m` + `s`.
    private static let units: [(suffix: String, make: @Sendable (Int64) -> Duration?)] = [
        ("ns", { .nanoseconds($0) }),
        ("us", { .microseconds($0) }),
        ("ms", { .milliseconds($0) }),
        ("s", { .seconds($0) }),
        ("m", { scaled($0, 60) }),
        ("h", { scaled($0, 3_600) }),
        ("d", { scaled($0, 86_400) }),
    ]

    /// The duration `text` names, or `nil` when it is not a duration (surrounding spaces are ignored).
    public static func parse(_ text: String) -> Duration? {
        let text = text.trimmingSpaces
        if let seconds = wholeNumber(text[...]) { return .seconds(seconds) }
        for unit in units where text.hasSuffix(unit.suffix) {
            if let value = wholeNumber(text.dropLast(unit.suffix.count)) { return unit.make(value) }
        }
        return nil
    }

    /// `value × factor` seconds, or `nil` on overflow.
    private static func scaled(_ value: Int64, _ factor: Int64) -> Duration? {
        let (seconds, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : .seconds(seconds)
    }

    /// Digits only (no sign, no spaces), fitting an `Int64`.
    static func wholeNumber(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(text)
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
