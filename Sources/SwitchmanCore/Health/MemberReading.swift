/// What one SQL check of a member saw: its recovery state and WAL positions, read in one query.
public struct MemberReading: Sendable, Hashable {
    /// `pg_is_in_recovery()`: true on a replica (or a leader not yet promoted), false on a primary.
    public var inRecovery: Bool
    /// `pg_current_wal_lsn()` on a primary; `nil` on a node in recovery.
    public var currentLSN: UInt64?
    /// `pg_last_wal_receive_lsn()`: WAL received by streaming; `nil` when none was (archive recovery, primary).
    public var receiveLSN: UInt64?
    /// `pg_last_wal_replay_lsn()`: WAL replayed; `nil` on a primary.
    public var replayLSN: UInt64?
    /// `pg_last_xact_replay_timestamp()` as seconds since the epoch; `nil` when no transaction was replayed yet.
    public var replayTimestamp: Double?
    /// `clock_timestamp()` on the member when it answered, seconds since the epoch. Against
    /// `replayTimestamp` (the primary's commit time) it gives the age of the last replayed transaction,
    /// which includes any clock skew between the two hosts; ``ReplicaLag`` bounds it by Switchman's
    /// own timing of the primary's positions.
    public var serverTime: Double
    /// `pg_is_wal_replay_paused()`; false on a primary.
    public var replayPaused: Bool
    /// `pg_stat_wal_receiver.status` (`streaming`, `waiting`…); `nil` when no WAL receiver runs.
    public var walReceiverStatus: String?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(inRecovery: Bool, currentLSN: UInt64? = nil, receiveLSN: UInt64? = nil, replayLSN: UInt64? = nil,
                replayTimestamp: Double? = nil, serverTime: Double = 0, replayPaused: Bool = false, walReceiverStatus: String? = nil) {
        self.inRecovery = inRecovery
        self.currentLSN = currentLSN
        self.receiveLSN = receiveLSN
        self.replayLSN = replayLSN
        self.replayTimestamp = replayTimestamp
        self.serverTime = serverTime
        self.replayPaused = replayPaused
        self.walReceiverStatus = walReceiverStatus
    }

    /// Whether a WAL receiver streams from the primary (not restoring from archive, not waiting).
    public var isStreaming: Bool { walReceiverStatus == "streaming" }

    /// The query whose one row ``init(row:)`` reads; the same text works on a primary and a replica
    /// (the functions that fail outside recovery, or in it, are guarded by `case`).
    public static let query = """
        select pg_is_in_recovery(), \
        case when pg_is_in_recovery() then null else pg_current_wal_lsn() end, \
        pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), \
        extract(epoch from pg_last_xact_replay_timestamp()), extract(epoch from clock_timestamp()), \
        case when pg_is_in_recovery() then pg_is_wal_replay_paused() else false end, \
        (select status from pg_stat_wal_receiver limit 1)
        """

    /// Reads the row of ``query`` (columns as libpq's text, `nil` for NULL); `nil` when it is not
    /// such a row, with no partial result.
    public init?(row: [String?]) {
        guard row.count == 8, let recovery = row[0].flatMap(Self.boolean), let now = row[5].flatMap(Double.init),
              let paused = row[6].flatMap(Self.boolean) else { return nil }
        var lsns: [UInt64?] = []
        for column in 1...3 {
            guard let text = row[column] else {
                lsns.append(nil)
                continue
            }
            guard let lsn = LSN.parse(text) else { return nil }
            lsns.append(lsn)
        }
        var timestamp: Double?
        if let text = row[4] {
            guard let value = Double(text) else { return nil }
            timestamp = value
        }
        self.init(inRecovery: recovery, currentLSN: lsns[0], receiveLSN: lsns[1], replayLSN: lsns[2], replayTimestamp: timestamp,
                  serverTime: now, replayPaused: paused, walReceiverStatus: row[7])
    }

    private static func boolean(_ text: String) -> Bool? {
        switch text {
        case "t": true
        case "f": false
        default: nil
        }
    }
}

/// PostgreSQL's `pg_lsn` text form, `X/Y` (two hexadecimal halves of a 64-bit WAL position).
public enum LSN {
    /// The position `text` names, or `nil` when it is not an LSN.
    public static func parse(_ text: String) -> UInt64? {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, (1...8).contains(halves[0].count), (1...8).contains(halves[1].count),
              let high = UInt64(halves[0], radix: 16), let low = UInt64(halves[1], radix: 16) else { return nil }
        return high << 32 | low
    }

    /// `X/Y`, as PostgreSQL prints it.
    public static func format(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }
}
