import SwitchmanCore

/// The data plane's counters summed over every event loop at one moment.
public struct RuntimeStatistics: Sendable {
    /// Per listener name.
    public var listeners: [String: ListenerStatistics] = [:]
    /// Per server.
    public var servers: [ServerKey: ServerStatistics] = [:]
    /// Sessions open now, all listeners.
    public var sessions = 0
    /// Read/write buffers lent out now.
    public var buffersInUse = 0
    /// Splice pipes lent out now.
    public var pipesInUse = 0
    /// Times a pump wanted a pipe and fell back to read/write.
    public var pipeDenials = 0
    /// Session log lines dropped because the log writer fell behind.
    public var droppedLogLines = 0
    /// Largest route-server counter cache of any loop (internal: shows the cache is pruned).
    var routeServersCached = 0
    /// Per route generation: the first byte to its server and the last from it (monotonic ns).
    public var generations: [UInt64: GenerationTimes] = [:]
    /// How waits on primary listeners ended since the last draining collection (oldest first per loop).
    public var waitSamples: [WaitSample] = []
    /// Wait outcomes lost because a loop's buffer was full between two draining collections.
    public var waitSamplesDropped = 0

    public init() {}
}

/// One listener's figures.
public struct ListenerStatistics: Sendable, Equatable {
    /// Sessions open now.
    public var current = 0
    /// Sessions held now (failover).
    public var held = 0
    /// Sessions queued now (servers at server_maxconn).
    public var queued = 0
    /// Counters since start.
    public var counters = ListenerCounters()
    /// How long held connections waited (accept to connect, hold timeout or hang-up), since start.
    public var holdWaits = LatencyHistogram(bounds: LatencyHistogram.holdWaitBounds)

    public init() {}
}

/// One server's figures.
public struct ServerStatistics: Sendable, Equatable {
    /// Sessions connected or connecting now.
    public var current = 0
    /// Counters since start.
    public var counters = ServerCounters()

    public init() {}
}
