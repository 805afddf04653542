extension Duration {
    /// The duration in the largest unit that expresses it exactly, as the configuration writes it:
    /// `4s`, `250ms`, `30m`, `2h`, `1d`, `1500us`, `0s`. Used in logs and on the stats page.
    /// Parts below a nanosecond are dropped.
    public var humanReadable: String {
        let (seconds, attoseconds) = components
        if seconds < 0 || attoseconds < 0 {
            return "-" + (Duration.zero - self).humanReadable
        }
        let nanoseconds = attoseconds / 1_000_000_000
        if nanoseconds == 0 {
            if seconds == 0 { return "0s" }
            for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60)] where seconds % size == 0 {
                return "\(seconds / size)\(unit)"
            }
            return "\(seconds)s"
        }
        for (unit, size) in [("ms", Int64(1_000_000)), ("us", 1_000), ("ns", 1)] where nanoseconds % size == 0 {
            let perSecond = 1_000_000_000 / size
            let (whole, overflow) = seconds.multipliedReportingOverflow(by: perSecond)
            if !overflow { return "\(whole + nanoseconds / size)\(unit)" }
        }
        // Only reached for sub-second precision on durations of centuries: say it in seconds.
        return "\(seconds)s"
    }
}
