/// `max_lag:` of a replica listener: bytes of WAL not yet replayed, time since the last replayed
/// transaction while replay is behind, or both (a replica over either is out).
public struct LagLimit: Sendable, Hashable {
    /// Most bytes of WAL a replica may have left to replay; `nil` for no byte limit.
    public var bytes: UInt64?
    /// Longest a replica's replay may trail the primary; `nil` for no time limit.
    public var time: Duration?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(bytes: UInt64? = nil, time: Duration? = nil) {
        self.bytes = bytes
        self.time = time
    }

    /// The lower threshold an excluded replica must get under before it is admitted again (half of
    /// each limit), so a replica hovering at the limit does not flap in and out.
    public var readmitThreshold: LagLimit {
        LagLimit(bytes: bytes.map { $0 / 2 }, time: time.map { $0 / 2 })
    }

    /// Why `lag` is over this limit, or `nil` when it is within. An unknown figure counts as over
    /// when that limit is set: a replica whose lag cannot be measured is not trusted with reads.
    public func excess(_ lag: ReplicaLag) -> String? {
        if let bytes {
            guard let measured = lag.bytes else { return "byte lag unknown" }
            if measured > bytes { return "lag \(ByteCount.format(measured, against: bytes))" }
        }
        if let time {
            guard let measured = lag.seconds else { return "replay lag unknown (no transaction replayed yet)" }
            let limit = Double(time.components.seconds) + Double(time.components.attoseconds) / 1e18
            if measured > limit { return "replay lag \(Self.seconds(measured)) > \(time.humanReadable)" }
        }
        return nil
    }

    /// `max_lag` as written back: `16MB`, `5s`, `16MB, 5s`.
    public var description: String {
        [bytes.map { ByteCount.format($0) }, time.map(\.humanReadable)].compactMap { $0 }.joined(separator: ", ")
    }

    private static func seconds(_ value: Double) -> String {
        value >= 10 ? "\(Int(value.rounded()))s" : "\((value * 10).rounded() / 10)s"
    }
}

/// A replica's lag as measured from fresh SQL readings, not from ZooKeeper (whose positions are
/// rewritten once per `loop_wait` and hide paused replay).
public struct ReplicaLag: Sendable, Hashable {
    /// Bytes of WAL the primary has and the replica has not replayed; `nil` when unknown.
    public var bytes: UInt64?
    /// How far replay trails, in seconds: 0 once replay has caught up with the primary however long
    /// ago the last transaction was, else the member's `now - pg_last_xact_replay_timestamp()`;
    /// `nil` when unknown (no transaction replayed yet while replay is behind).
    public var seconds: Double?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(bytes: UInt64? = nil, seconds: Double? = nil) {
        self.bytes = bytes
        self.seconds = seconds
    }

    /// Measures `replica` against the primary's WAL position.
    ///
    /// - Parameters:
    ///   - reference: the primary's latest known position (bytes are measured against it).
    ///   - earlierReference: the primary's position one check earlier, if known. Replay counts as
    ///     behind only when it has not reached that one: the two members are read at different
    ///     instants, so WAL written between the two reads (a checkpoint on an idle primary) must not
    ///     turn the age of the last transaction into lag.
    ///   - history: the primary's positions as Switchman read them (oldest first, local monotonic
    ///     time) and `readAt`, when the replica was read: while replay is behind, the primary was at
    ///     or below the replay position at the time of the last such sample, so the replica trails by
    ///     at most the time since. That bounds the age of the last replayed transaction, which after a
    ///     long idle spell is hours although replay is a second behind, and it needs no clock shared
    ///     between hosts.
    public static func measure(_ replica: MemberReading, reference: UInt64?, earlierReference: UInt64?,
                               history: [LSNSample] = [], readAt: UInt64? = nil) -> ReplicaLag {
        guard let replay = replica.replayLSN, let reference else { return ReplicaLag() }
        let bytes = reference > replay ? reference - replay : 0
        let behind = replay < (earlierReference ?? reference)
        guard behind else { return ReplicaLag(bytes: bytes, seconds: 0) }
        // `pg_last_xact_replay_timestamp()` is the primary's commit time, read against the replica's clock.
        let commitAge = replica.replayTimestamp.map { max(0, replica.serverTime - $0) }
        var sinceLevel: Double?
        if let readAt, let level = history.last(where: { $0.lsn <= replay }), readAt >= level.at {
            sinceLevel = Double(readAt - level.at) / 1e9
        }
        let bounds = [commitAge, sinceLevel].compactMap { $0 }
        return ReplicaLag(bytes: bytes, seconds: bounds.min())
    }
}

/// The primary's WAL position at one moment, as Switchman's check read it.
public struct LSNSample: Sendable, Hashable {
    /// `pg_current_wal_lsn()`.
    public var lsn: UInt64
    /// When it was read (monotonic nanoseconds).
    public var at: UInt64

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(lsn: UInt64, at: UInt64) {
        self.lsn = lsn
        self.at = at
    }
}
