/// A fixed-bucket histogram of durations in seconds, with Prometheus semantics: each observation
/// falls in the first bucket whose upper bound is at least it (the last bucket is `+Inf`), and the
/// count and sum only grow.
///
/// Allocation-free after `init` (observing increments one slot), so a loop may own one and the stats
/// code may ``merge(_:)`` the loops' copies at render time.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds of the finite buckets, ascending (the `+Inf` bucket is implicit).
    public let bounds: [Double]
    /// Observations per bucket (not cumulative); one more entry than `bounds`, the last for `+Inf`.
    public private(set) var buckets: [UInt64]
    /// Observations in total.
    public private(set) var count: UInt64 = 0
    /// Sum of every observation, in seconds.
    public private(set) var sum: Double = 0

    /// Creates an empty histogram with these finite upper bounds (ascending).
    public init(bounds: [Double]) {
        precondition(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "histogram bounds must ascend")
        self.bounds = bounds
        buckets = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Bounds for how long a connection was held: 5 ms to a minute (`hold_timeout` defaults to 30 s).
    public static let holdWaitBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    /// Bounds for a failover's write-unavailability window: 50 ms (the ledger's stated accuracy) to 2 min.
    public static let unavailableBounds: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]

    /// Counts one observation (negative values count as 0).
    public mutating func observe(_ seconds: Double) {
        let value = seconds.isNaN ? 0 : max(0, seconds)
        var index = bounds.count
        for (i, bound) in bounds.enumerated() where value <= bound {
            index = i
            break
        }
        buckets[index] &+= 1
        count &+= 1
        sum += value
    }

    /// Adds `other`'s observations (same bounds) into this one.
    public mutating func merge(_ other: LatencyHistogram) {
        precondition(other.bounds == bounds, "only histograms with the same bounds can be merged")
        for i in buckets.indices { buckets[i] &+= other.buckets[i] }
        count &+= other.count
        sum += other.sum
    }

    /// Cumulative counts, one per finite bound then `+Inf` (what `_bucket{le=…}` samples carry).
    public var cumulative: [UInt64] {
        var running: UInt64 = 0
        return buckets.map { running &+= $0; return running }
    }
}

/// Nearest-rank percentile of `values` (any order): the smallest value with at least `p` of them at
/// or below it; `nil` for no values. `p` is a fraction (0.99 for p99).
public func nearestRankPercentile(_ values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}
