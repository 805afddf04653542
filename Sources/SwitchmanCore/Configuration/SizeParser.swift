/// Reads sizes as written in `proxy.conf`: a whole number with an optional unit, `16MB`, `64KiB`,
/// `1k`, `2G`, or a bare number of bytes (`4096`).
///
/// Every multiple is 1024-based, as in HAProxy and in Patroni's `maximum_lag_on_failover: 16MB`:
/// `k`, `K`, `KB`, `KiB` = 1024; `M`, `MB`, `MiB` = 1024²; `G`, `GB`, `GiB` = 1024³;
/// `T`, `TB`, `TiB` = 1024⁴. Units are case-insensitive; `B` alone means bytes.
public enum SizeParser {
    /// Unit suffixes, lower-cased, longest first so `kib` is tried before `b`.
    private static let units: [(suffix: String, shift: Int)] = [
        ("kib", 10), ("mib", 20), ("gib", 30), ("tib", 40),
        ("kb", 10), ("mb", 20), ("gb", 30), ("tb", 40),
        ("k", 10), ("m", 20), ("g", 30), ("t", 40),
        ("b", 0),
    ]

    /// The number of bytes `text` names, or `nil` when it is not a size or does not fit an `Int`.
    public static func parse(_ text: String) -> Int? {
        let lower = text.trimmingSpaces.lowercased()
        if let bytes = DurationParser.wholeNumber(lower[...]) { return Int(exactly: bytes) }
        for unit in units where lower.hasSuffix(unit.suffix) {
            let number = String(lower.dropLast(unit.suffix.count)).trimmingSpaces
            guard let value = DurationParser.wholeNumber(number[...]), let count = Int(exactly: value) else { return nil }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: 1 << unit.shift)
            return overflow ? nil : bytes
        }
        return nil
    }

    /// `bytes` in the largest 1024-based unit that expresses it exactly, in the form `parse` reads:
    /// `16MB`, `64KB`, `1GB`, `1000B`.
    public static func format(_ bytes: Int) -> String {
        guard bytes != 0 else { return "0B" }
        for (unit, shift) in [("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)] where bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)B"
    }
}
