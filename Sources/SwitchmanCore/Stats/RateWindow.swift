/// Per-second counts over a short sliding window, giving "per second over the last N seconds" rates.
///
/// Pure and allocation-free after `init`: a ring of `seconds` buckets, each stamped with the whole
/// second it counts. The caller supplies the time (any monotonic or wall-clock whole-second count),
/// so tests drive it without a clock. A loop may own one per counter and the stats code may
/// ``merge(_:)`` the loops' windows at render time, or a single owner may feed it sums.
///
/// The rate covers the last `seconds` *complete* seconds, `[now - seconds, now - 1]`: the second in
/// progress is left out, so a steady flow reads exactly its rate instead of dipping each second.
public struct RateWindow: Sendable, Equatable {
    /// Width of the window in seconds.
    public let seconds: Int
    private var stamps: [Int64]
    private var counts: [UInt64]

    /// Creates an empty window `seconds` wide (at least 1).
    public init(seconds: Int = 10) {
        precondition(seconds >= 1, "a rate window needs at least one second")
        self.seconds = seconds
        self.stamps = Array(repeating: Int64.min, count: seconds)
        self.counts = Array(repeating: 0, count: seconds)
    }

    private func index(of second: Int64) -> Int {
        let n = Int64(seconds)
        return Int(((second % n) + n) % n)
    }

    /// Counts `amount` in whole second `second`. Amounts for a second already pushed out of the
    /// window (older than the bucket's current second) are dropped.
    public mutating func add(_ amount: UInt64 = 1, second: Int64) {
        let i = index(of: second)
        if stamps[i] == second {
            counts[i] &+= amount
        } else if stamps[i] < second {
            stamps[i] = second
            counts[i] = amount
        }
    }

    /// The sum over the complete seconds `[now - seconds, now - 1]`.
    public func total(now: Int64) -> UInt64 {
        var sum: UInt64 = 0
        let oldest = now - Int64(seconds)
        for i in 0..<seconds where stamps[i] >= oldest && stamps[i] < now {
            sum &+= counts[i]
        }
        return sum
    }

    /// Events per second over the complete seconds `[now - seconds, now - 1]`.
    public func rate(now: Int64) -> Double {
        Double(total(now: now)) / Double(seconds)
    }

    /// Adds `other`'s counts into this window (e.g. the same counter from another loop). Buckets for
    /// the same second are summed; where the two hold different seconds, the newer one wins.
    public mutating func merge(_ other: RateWindow) {
        precondition(other.seconds == seconds, "only windows of the same width can be merged")
        for i in 0..<seconds {
            if other.stamps[i] == stamps[i] {
                counts[i] &+= other.counts[i]
            } else if other.stamps[i] > stamps[i] {
                stamps[i] = other.stamps[i]
                counts[i] = other.counts[i]
            }
        }
    }
}
