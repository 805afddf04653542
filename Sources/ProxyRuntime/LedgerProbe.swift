import SwitchmanCore

// The data plane's part of the failover ledger: when bytes first reached, and last came from, each
// route generation's server, and how waits on primary listeners ended. Everything is loop-local and
// summed at statistics time; the byte path pays two field stores on a box the session already holds
// (see Worker.countBytes), never a lock or an allocation.

/// What one loop (or, summed, the process) saw of one route generation, in monotonic nanoseconds
/// (0: never).
public struct GenerationTimes: Sendable, Equatable {
    /// The first byte forwarded to a server of the generation.
    public var firstByteToServer: UInt64 = 0
    /// The last byte forwarded from a server of the generation to a client.
    public var lastByteToClient: UInt64 = 0

    public init(firstByteToServer: UInt64 = 0, lastByteToClient: UInt64 = 0) {
        self.firstByteToServer = firstByteToServer
        self.lastByteToClient = lastByteToClient
    }

    /// Keeps the earliest first byte and the latest last byte.
    mutating func merge(_ other: GenerationTimes) {
        if other.firstByteToServer != 0 && (firstByteToServer == 0 || other.firstByteToServer < firstByteToServer) {
            firstByteToServer = other.firstByteToServer
        }
        lastByteToClient = max(lastByteToClient, other.lastByteToClient)
    }
}

/// How one connection's wait on a primary listener ended, in monotonic nanoseconds.
public struct WaitSample: Sendable, Equatable {
    /// When the wait ended.
    public var endedAt: UInt64
    /// Nanoseconds from accept to that end.
    public var wait: UInt64
    /// What came of it.
    public var kind: WaitOutcome.Kind
}

/// A loop's wait outcomes since the last drain: a fixed array filled in place (no allocation while
/// recording), counting what did not fit.
struct WaitSampleBuffer {
    static let capacity = 2048
    private var samples: [WaitSample] = []
    /// Outcomes that did not fit since the last drain.
    private(set) var dropped = 0

    init() { samples.reserveCapacity(Self.capacity) }

    mutating func append(_ sample: WaitSample) {
        if samples.count < Self.capacity { samples.append(sample) } else { dropped += 1 }
    }

    /// Everything recorded since the last drain, and how many did not fit; empties the buffer.
    mutating func drain() -> (samples: [WaitSample], dropped: Int) {
        // Nothing ended (the usual second): keep the reserved storage.
        if samples.isEmpty && dropped == 0 { return ([], 0) }
        let taken = (samples, dropped)
        samples = []
        samples.reserveCapacity(Self.capacity)
        dropped = 0
        return taken
    }
}

/// Route generations whose server left every route on a loop, with what was seen of them (the
/// newest few: the ledger reads them within a second or two).
struct RetiredGenerations {
    static let limit = 32
    private(set) var times: [UInt64: GenerationTimes] = [:]

    mutating func retire(_ generation: UInt64, _ seen: GenerationTimes) {
        times[generation, default: GenerationTimes()].merge(seen)
        if times.count > Self.limit, let oldest = times.keys.min() { times[oldest] = nil }
    }
}

extension Worker {
    /// A held connection connected, or its hold ended in a refusal: counted in its listener's wait
    /// histogram and, on a primary listener, kept for the ledger.
    func waitEnded(_ session: Session, kind: WaitOutcome.Kind) {
        let now = loop.now
        let wait = now &- session.acceptedAt
        let listener = session.listener
        if kind != .refused { listener.holdWaits.observe(Double(wait) / 1e9) }
        if listener.configuration.role == .primary {
            waitSamples.append(WaitSample(endedAt: now, wait: wait, kind: kind))
        }
    }
}
