// Number, time and text formatting shared by the renderers. Everything here is deliberately simple
// integer/IEEE arithmetic with no locale, so the page's script (StatsHTML+Assets.swift) reproduces
// the same strings byte for byte and goldens stay stable. Absurd values (NaN, infinities, beyond 1e15)
// render as "n/a" instead of trapping in an integer conversion: the stats page must never crash the proxy.

/// Formatting helpers shared by the renderers (and mirrored by the page's script).
enum StatsFormat {
    /// `x` rounded to milliseconds: every time and rate leaves Switchman with at most 3 decimals.
    static func round3(_ x: Double) -> Double {
        // Past 1e15 a double has no millisecond digits left, and scaling by 1000 would only add error.
        guard x.isFinite, abs(x) < 1e15 else { return x }
        return (x * 1000).rounded() / 1000
    }

    /// A JSON number: 3 decimals at most; `null` for NaN and infinities (JSON has neither).
    static func jsonNumber(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        let r = round3(x)
        // Integral values print without a fraction ("5", not "5.0"), as JavaScript would.
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        return String(describing: r)
    }

    /// `2023-11-14 22:13:20Z`: UTC, whole seconds (truncated), like the script's `toISOString`.
    static func utc(_ t: Double) -> String {
        guard t.isFinite, abs(t) < 1e15 else { return "n/a" }
        let secs = Int64(round3(t).rounded(.down))
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = secs - days * 86_400
        let (y, m, d) = civilDate(daysSinceEpoch: days)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2))Z"
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// A duration for people: `850 ms`, `12 s`, `5 min 3 s`, `3 h 4 min`, `2 d 3 h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 1e15 else { return seconds.isNaN ? "n/a" : "0 ms" }
        let s = max(0, round3(seconds))
        if s < 1 { return "\(Int64((s * 1000).rounded())) ms" }
        let whole = Int64(s.rounded(.down))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        if whole < 86_400 { return "\(whole / 3600) h \(whole / 60 % 60) min" }
        return "\(whole / 86_400) d \(whole / 3600 % 24) h"
    }

    /// A byte count for people: `512 B`, `1.5 KiB`, `3.0 GiB` (binary units, one decimal).
    static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        guard value.isFinite, value < 1e18 else { return value.isNaN ? "n/a" : value > 0 ? "many" : "0 B" }
        var x = max(0, round3(value))
        var u = 0
        while x >= 1024, u < units.count - 1 {
            x /= 1024
            u += 1
        }
        if u == 0 { return "\(Int64(x.rounded())) B" }
        return "\(tenths(x)) \(units[u])"
    }

    /// `x` with one decimal: `12.3`.
    static func tenths(_ x: Double) -> String {
        guard x.isFinite, x < 1e15 else { return "n/a" }
        let t = Int64((max(0, round3(x)) * 10).rounded())
        return "\(t / 10).\(t % 10)"
    }

    /// Text made safe for HTML element content and attribute values.
    static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
