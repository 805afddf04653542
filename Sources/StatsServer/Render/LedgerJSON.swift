import SwitchmanCore

/// `/events.json`: the failover ledger (every leader change with the time of each step, what it
/// cost the clients) and the recent events, schema documented in docs/STATS.md.
///
/// Same conventions as ``StatsJSON``: snake_case keys always present (`null` when absent), times in
/// seconds since the epoch with at most 3 decimals, newest first.
public enum LedgerJSON {
    /// The schema version written as `schema_version`.
    public static let schemaVersion = 1

    /// The JSON document for `snapshot` (pretty-printed, ending with a newline).
    public static func render(_ snapshot: StatsSnapshot) -> String {
        document(snapshot).serialized() + "\n"
    }

    static func document(_ s: StatsSnapshot) -> JSONValue {
        let ledger = s.ledger ?? LedgerStats()
        return .object([
            ("schema_version", .integer(Int64(schemaVersion))),
            ("generated_at", .number(s.generatedAt)),
            ("failovers", .array(ledger.failovers.map(failover))),
            ("write_unavailable_seconds", histogram(ledger.writeUnavailable)),
            ("events", .array(s.events.map(StatsJSON.event))),
        ])
    }

    static func failover(_ r: FailoverRecord) -> JSONValue {
        let c = r.change
        return .object([
            ("id", .unsigned(c.id)),
            ("kind", .string(c.switchoverRequestedAt == nil ? "failover" : "switchover")),
            ("old_leader", .string(c.oldLeader)),
            ("new_leader", .string(c.newLeader)),
            ("old_generation", c.oldGeneration.map { .unsigned($0) } ?? .null),
            ("generation", c.generation.map { .unsigned($0) } ?? .null),
            ("switchover_requested_at", .number(c.switchoverRequestedAt)),
            ("leader_changed_at", .number(c.leaderChangedAt)),
            ("confirmed_at", .number(c.confirmedAt)),
            ("old_leader_last_reply_at", .number(r.oldLeaderLastReplyAt)),
            ("first_byte_at", .number(r.firstByteAt)),
            ("unavailable_from", .number(r.unavailableFrom)),
            ("unavailable_until", .number(r.unavailableUntil)),
            ("unavailable_seconds", .number(r.unavailableSeconds)),
            ("unavailable_until_source", .string(r.unavailableUntilSource?.rawValue)),
            ("settled", .bool(r.settled)),
            ("sessions_closed", .integer(Int64(c.sessionsClosed))),
            ("held", .object([
                ("count", .unsigned(r.held.count)),
                ("timed_out", .unsigned(r.held.timedOut)),
                ("abandoned", .unsigned(r.held.abandoned)),
                ("wait_p50", .number(r.held.waitP50)),
                ("wait_p99", .number(r.held.waitP99)),
                ("wait_max", .number(r.held.waitMax)),
            ])),
            ("refused", .unsigned(r.refused)),
        ])
    }

    static func histogram(_ h: LatencyHistogram) -> JSONValue {
        let cumulative = h.cumulative
        var buckets: [JSONValue] = zip(h.bounds, cumulative).map { bound, count in
            .object([("le", .number(bound)), ("count", .unsigned(count))])
        }
        buckets.append(.object([("le", .string("+Inf")), ("count", .unsigned(h.count))]))
        return .object([("count", .unsigned(h.count)), ("sum", .number(h.sum)), ("buckets", .array(buckets))])
    }
}
