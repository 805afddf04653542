import Glibc

/// Monotonic and wall clocks in nanoseconds.
public enum SystemClock {
    /// CLOCK_MONOTONIC in nanoseconds: for deadlines and durations.
    @inline(__always)
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME as seconds since the epoch: for what operators read.
    public static func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at zero for negative durations and at about a century for huge
    /// ones, so `now + timeout` never overflows (a config may say `client_idle: 1000000d`).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let century: Int64 = 100 * 365 * 86_400
        if seconds >= century { return UInt64(century) * 1_000_000_000 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
