import SwitchmanCore

/// `/stats.json`: the snapshot as JSON, schema documented key by key in docs/STATS.md.
///
/// Keys are snake_case and always present (absent values are `null`), in the documented order;
/// times are seconds since the epoch with at most 3 decimals. Additions bump nothing; a renamed or
/// removed key bumps `schema_version`.
public enum StatsJSON {
    /// The schema version written as `schema_version`.
    public static let schemaVersion = 1

    /// The JSON document for `snapshot` (pretty-printed, ending with a newline).
    public static func render(_ snapshot: StatsSnapshot) -> String {
        document(snapshot).serialized() + "\n"
    }

    static func document(_ s: StatsSnapshot) -> JSONValue {
        .object([
            ("schema_version", .integer(Int64(schemaVersion))),
            ("generated_at", .number(s.generatedAt)),
            ("process", process(s)),
            ("cluster", s.cluster.map(cluster) ?? .null),
            ("listeners", .array(s.listeners.map(listener))),
            ("members", .array(s.members.map(member))),
            ("events", .array(s.events.map(event))),
            ("loops", .array(s.loops.map(loop))),
        ])
    }

    private static func process(_ s: StatsSnapshot) -> JSONValue {
        let p = s.process
        return .object([
            ("version", .string(p.version)),
            ("pid", .integer(Int64(p.pid))),
            ("threads", .integer(Int64(p.threads))),
            ("start_time", .number(p.startTime)),
            ("uptime_seconds", .number(s.uptime)),
            ("config_file", .string(p.configFile)),
            ("last_reload", p.lastReload.map { r in
                .object([("time", .number(r.time)), ("ok", .bool(r.succeeded)), ("message", .string(r.message))])
            } ?? .null),
            ("reloads_total", .unsigned(p.reloadsTotal)),
            ("reload_failures_total", .unsigned(p.reloadFailuresTotal)),
            ("log_lines_dropped_total", .unsigned(p.logLinesDroppedTotal)),
        ])
    }

    private static func cluster(_ c: ClusterStats) -> JSONValue {
        .object([
            ("scope", .string(c.scope)),
            ("namespace", .string(c.namespace)),
            ("zookeeper_hosts", .array(c.zookeeperHosts.map { .string($0) })),
            ("zookeeper_session", .string(c.session.rawValue)),
            ("last_event_time", .number(c.lastEventTime)),
            ("leader", c.leader.map { l in
                .object([
                    ("name", .string(l.name)),
                    ("since", .number(l.since)),
                    ("confirmed", .bool(l.confirmed)),
                    ("confirmed_at", .number(l.confirmedAt)),
                ])
            } ?? .null),
            ("generation", .unsigned(c.generation)),
            ("leader_changes_total", .unsigned(c.leaderChangesTotal)),
            ("zookeeper_disconnects_total", .unsigned(c.disconnectsTotal)),
            ("zookeeper_session_expiries_total", .unsigned(c.sessionExpiriesTotal)),
            ("on_dcs_loss", .string(c.dcsLossPolicy)),
            ("leader_disagreements_total", .unsigned(c.leaderDisagreementsTotal)),
            ("split_brains_total", .unsigned(c.splitBrainsTotal)),
            ("dcs_loss_write_cuts_total", .unsigned(c.dcsLossWriteCutsTotal)),
        ])
    }

    private static func listener(_ l: ListenerStats) -> JSONValue {
        .object([
            ("name", .string(l.name)),
            ("bind", .string(l.bind)),
            ("role", .string(l.role.rawValue)),
            ("route", .object([
                ("state", .string(l.routeState.name)),
                ("reason", .string(l.routeState.reason)),
                ("servers", .array(l.routeServers.map { .string($0) })),
            ])),
            ("paused", .bool(l.paused)),
            ("sessions", .object([
                ("current", .integer(Int64(l.sessionsCurrent))),
                ("max", .integer(l.sessionsMax)),
                ("total", .unsigned(l.sessionsTotal)),
                ("per_second", .number(l.sessionsPerSecond)),
            ])),
            ("held", .integer(Int64(l.held))),
            ("queued", .integer(Int64(l.queued))),
            ("bytes_in", .unsigned(l.bytesIn)),
            ("bytes_out", .unsigned(l.bytesOut)),
            ("bytes_in_per_second", .number(l.bytesInPerSecond)),
            ("bytes_out_per_second", .number(l.bytesOutPerSecond)),
            ("connect_errors", .unsigned(l.connectErrors)),
            ("retries", .unsigned(l.retries)),
            ("stale_sessions_closed", .unsigned(l.staleSessionsClosed)),
            ("sessions_moved_by_route_change", .unsigned(l.sessionsMovedByRouteChange)),
            ("client_address_tagged", .unsigned(l.clientAddressTagged)),
            ("client_address_untagged_encrypted", .unsigned(l.clientAddressUntaggedEncrypted)),
            ("sessions_refused", .unsigned(l.sessionsRefused)),
            ("cancel_requests_forwarded", .unsigned(l.cancelRequestsForwarded)),
        ])
    }

    private static func member(_ m: MemberStats) -> JSONValue {
        .object([
            ("name", .string(m.name)),
            ("address", .string(m.address)),
            ("listener", .string(m.listener)),
            ("role", .string(m.role)),
            ("state", .string(m.state)),
            ("timeline", .integer(m.timeline)),
            ("lag_bytes", .integer(m.lagBytes)),
            ("lag_seconds", .number(m.lagSeconds)),
            ("check_failures_total", .unsigned(m.checkFailuresTotal)),
            ("tags", .array(m.tags.map { .string($0) })),
            ("leader", .bool(m.isLeader)),
            ("status", .string(m.status.rawValue)),
            ("status_reason", .string(m.statusReason)),
            ("admin_state", .string(m.adminState.rawValue)),
            ("last_status_change", .number(m.lastStatusChange)),
            ("sessions", .object([
                ("current", .integer(Int64(m.sessionsCurrent))),
                ("total", .unsigned(m.sessionsTotal)),
            ])),
            ("bytes_in", .unsigned(m.bytesIn)),
            ("bytes_out", .unsigned(m.bytesOut)),
            ("checks", .array(m.checks.map { c in
                .object([
                    ("name", .string(c.name)),
                    ("ok", .bool(c.ok)),
                    ("time", .number(c.time)),
                    ("duration", .number(c.duration)),
                    ("detail", .string(c.detail)),
                ])
            })),
        ])
    }

    static func event(_ e: StatsEvent) -> JSONValue {
        .object([
            ("time", .number(e.time)),
            ("kind", .string(e.kind.rawValue)),
            ("message", .string(e.message)),
            ("leader_change", e.leaderChange.map { d in
                .object([
                    ("old_leader", .string(d.oldLeader)),
                    ("new_leader", .string(d.newLeader)),
                    ("generation", .unsigned(d.generation)),
                    ("sessions_closed", .integer(Int64(d.sessionsClosed))),
                    ("time_to_confirmation", .number(d.timeToConfirmation)),
                ])
            } ?? .null),
        ])
    }

    private static func loop(_ l: LoopStats) -> JSONValue {
        .object([
            ("id", .integer(Int64(l.id))),
            ("heartbeat_age", .number(l.heartbeatAge)),
            ("sessions", .integer(Int64(l.sessions))),
        ])
    }
}
