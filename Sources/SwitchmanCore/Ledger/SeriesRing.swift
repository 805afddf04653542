/// One listener's state at one sampled second, for the page's 15-minute plots.
public struct SeriesPoint: Sendable, Equatable {
    /// When it was sampled (wall-clock seconds).
    public var time: Double
    /// New sessions per second over the last second.
    public var sessionsPerSecond: Double
    /// Bytes per second, both directions, over the last second.
    public var bytesPerSecond: Double
    /// Connections held at that moment.
    public var held: Int
    /// The listener's route was ready (for a primary listener: writes were available).
    public var ready: Bool

    /// Creates a point.
    public init(time: Double, sessionsPerSecond: Double = 0, bytesPerSecond: Double = 0, held: Int = 0, ready: Bool = true) {
        self.time = time
        self.sessionsPerSecond = sessionsPerSecond
        self.bytesPerSecond = bytesPerSecond
        self.held = held
        self.ready = ready
    }
}

/// The last `capacity` points of one listener, oldest first when read; appending never allocates
/// once full (a fixed ring).
public struct SeriesRing: Sendable, Equatable {
    /// Points kept (900: one a second for 15 minutes).
    public let capacity: Int
    private var storage: [SeriesPoint] = []
    private var head = 0

    /// Creates an empty ring.
    public init(capacity: Int = 900) {
        precondition(capacity >= 1)
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    /// Adds a point, dropping the oldest when full.
    public mutating func append(_ point: SeriesPoint) {
        if storage.count < capacity {
            storage.append(point)
        } else {
            storage[head] = point
            head = (head + 1) % capacity
        }
    }

    /// Every point kept, oldest first.
    public var points: [SeriesPoint] { Array(storage[head...] + storage[..<head]) }
}

/// One listener's recent points in a snapshot.
public struct ListenerSeries: Sendable, Equatable {
    /// The listener's name.
    public var listener: String
    /// Its role (primary listeners carry write availability).
    public var role: ListenerRole
    /// Oldest first, one a second.
    public var points: [SeriesPoint]

    /// Creates a series.
    public init(listener: String, role: ListenerRole, points: [SeriesPoint]) {
        self.listener = listener
        self.role = role
        self.points = points
    }
}

/// A histogram with the listener it belongs to.
public struct ListenerHistogram: Sendable, Equatable {
    /// The listener's name.
    public var listener: String
    /// Its observations.
    public var histogram: LatencyHistogram

    /// Creates an entry.
    public init(listener: String, histogram: LatencyHistogram) {
        self.listener = listener
        self.histogram = histogram
    }
}

/// The failover ledger and the recent-traffic series, as a ``StatsSnapshot`` carries them
/// (`/events.json`, the page's timeline and plots, the metrics' histograms).
public struct LedgerStats: Sendable, Equatable {
    /// Failovers, newest first (bounded).
    public var failovers: [FailoverRecord]
    /// One observation per settled failover: its write-unavailability window.
    public var writeUnavailable: LatencyHistogram
    /// Per listener: how long held connections waited (from accept to connect or hold timeout).
    public var holdWait: [ListenerHistogram]
    /// Per listener, in configuration order: the last 15 minutes, one point a second.
    public var series: [ListenerSeries]
    /// Seconds the timeline and plots span.
    public var window: Double

    /// Creates the ledger's part of a snapshot.
    public init(failovers: [FailoverRecord] = [], writeUnavailable: LatencyHistogram = LatencyHistogram(bounds: LatencyHistogram.unavailableBounds),
                holdWait: [ListenerHistogram] = [], series: [ListenerSeries] = [], window: Double = 900) {
        self.failovers = failovers
        self.writeUnavailable = writeUnavailable
        self.holdWait = holdWait
        self.series = series
        self.window = window
    }
}
