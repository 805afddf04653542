import SwitchmanCore

/// `/metrics`: the snapshot in the Prometheus text exposition format 0.0.4.
///
/// Every family has `# HELP` and `# TYPE`; names start with `switchman_`; counters end in `_total`;
/// label values are escaped. Enumerations (ZooKeeper session, route state, backend status) are one
/// gauge per possible value, 1 for the current one and 0 for the others, so alerts need no regex.
/// The metric list is in docs/STATS.md; the output passes `promtool check metrics` (a test runs it).
public enum PrometheusText {
    /// The `Content-Type` of the exposition.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The exposition text for `snapshot`.
    public static func render(_ snapshot: StatsSnapshot) -> String {
        var out = PrometheusWriter()
        process(snapshot, &out)
        if let cluster = snapshot.cluster { self.cluster(cluster, &out) }
        listeners(snapshot.listeners, &out)
        members(snapshot.members, scope: snapshot.cluster?.scope, &out)
        loops(snapshot.loops, &out)
        if let ledger = snapshot.ledger { self.ledger(ledger, scope: snapshot.cluster?.scope, &out) }
        return out.text
    }

    private static func process(_ s: StatsSnapshot, _ out: inout PrometheusWriter) {
        let p = s.process
        out.family("switchman_build_info", .gauge, "Switchman version (always 1).", [([("version", p.version)], "1")])
        out.family("switchman_start_time_seconds", .gauge, "Process start, seconds since the epoch.", [([], fmt(p.startTime))])
        out.family("switchman_uptime_seconds", .gauge, "Seconds since the process started.", [([], fmt(s.uptime))])
        out.family("switchman_event_loops", .gauge, "Event loop threads running.", [([], String(p.threads))])
        out.family("switchman_config_reloads_total", .counter, "Configuration reloads attempted.", [([], String(p.reloadsTotal))])
        out.family(
            "switchman_config_reload_failures_total", .counter,
            "Configuration reloads rejected (the previous configuration stayed).", [([], String(p.reloadFailuresTotal))]
        )
        out.family(
            "switchman_log_lines_dropped_total", .counter,
            "Log lines (session log and diagnostics) dropped because their reader fell behind.", [([], String(p.logLinesDroppedTotal))]
        )
        if let r = p.lastReload {
            out.family(
                "switchman_config_last_reload_successful", .gauge,
                "Whether the last configuration reload was applied (1) or rejected (0).", [([], r.succeeded ? "1" : "0")]
            )
            out.family(
                "switchman_config_last_reload_timestamp_seconds", .gauge,
                "Time of the last configuration reload, seconds since the epoch.", [([], fmt(r.time))]
            )
        }
    }

    private static func cluster(_ c: ClusterStats, _ out: inout PrometheusWriter) {
        let scope = [("scope", c.scope)]
        out.family(
            "switchman_zookeeper_session_state", .gauge,
            "ZooKeeper session state: 1 for the current state, 0 for the others.",
            ZooKeeperSessionState.allCases.map { (scope + [("state", $0.rawValue)], c.session == $0 ? "1" : "0") }
        )
        if let t = c.lastEventTime {
            out.family(
                "switchman_zookeeper_last_event_timestamp_seconds", .gauge,
                "Time of the last ZooKeeper watch or session event, seconds since the epoch.", [(scope, fmt(t))]
            )
        }
        out.family("switchman_zookeeper_disconnects_total", .counter, "ZooKeeper connection losses.", [(scope, String(c.disconnectsTotal))])
        out.family(
            "switchman_zookeeper_session_expiries_total", .counter,
            "ZooKeeper session expiries (writes fail closed until a fresh picture).", [(scope, String(c.sessionExpiriesTotal))]
        )
        out.family(
            "switchman_cluster_leader", .gauge, "The member the leader znode names (always 1; absent without a leader).",
            c.leader.map { [(scope + [("member", $0.name)], "1")] } ?? []
        )
        out.family(
            "switchman_cluster_leader_confirmed", .gauge,
            "Whether a leader exists and its promotion is confirmed over SQL (writes flow only then).",
            [(scope, c.leader?.confirmed == true ? "1" : "0")]
        )
        if let l = c.leader {
            out.family(
                "switchman_cluster_leader_since_timestamp_seconds", .gauge,
                "When the current leader was first seen, seconds since the epoch.", [(scope, fmt(l.since))]
            )
        }
        out.family("switchman_cluster_generation", .gauge, "Primary generation, bumped on every leader change.", [(scope, String(c.generation))])
        out.family("switchman_cluster_leader_changes_total", .counter, "Leader changes seen.", [(scope, String(c.leaderChangesTotal))])
        out.family(
            "switchman_cluster_leader_disagreements_total", .counter,
            "Times the confirmed leader answered pg_is_in_recovery() = true (writes held each time).",
            [(scope, String(c.leaderDisagreementsTotal))])
        out.family(
            "switchman_cluster_split_brains_total", .counter,
            "Times a member other than the leader answered pg_is_in_recovery() = false.", [(scope, String(c.splitBrainsTotal))])
        out.family(
            "switchman_cluster_dcs_loss_write_cuts_total", .counter,
            "Times on_dcs_loss: verify cut writes because the leader's SQL or REST check said otherwise.",
            [(scope, String(c.dcsLossWriteCutsTotal))])
    }

    private static func listeners(_ ls: [ListenerStats], _ out: inout PrometheusWriter) {
        func each(_ value: (ListenerStats) -> String) -> [PrometheusWriter.Sample] {
            ls.map { ([("listener", $0.name)], value($0)) }
        }
        out.family(
            "switchman_listener_info", .gauge, "A configured listener (always 1), with its bind address and role.",
            ls.map { ([("listener", $0.name), ("bind", $0.bind), ("role", $0.role.rawValue)], "1") }
        )
        out.family(
            "switchman_listener_route_state", .gauge, "Route state of a listener: 1 for the current state, 0 for the others.",
            ls.flatMap { l in
                ["ready", "hold", "unavailable"].map { ([("listener", l.name), ("state", $0)], l.routeState.name == $0 ? "1" : "0") }
            }
        )
        out.family("switchman_listener_route_servers", .gauge, "Servers the current route may connect to.", each { String($0.routeServers.count) })
        out.family(
            "switchman_listener_paused", .gauge, "Whether an operator paused the listener (new connections are held).",
            each { $0.paused ? "1" : "0" })
        out.family("switchman_listener_sessions", .gauge, "Sessions open now.", each { String($0.sessionsCurrent) })
        out.family(
            "switchman_listener_sessions_limit", .gauge, "Per-listener session limit (absent when only the global maxconn applies).",
            ls.compactMap { l in l.sessionsMax.map { ([("listener", l.name)], String($0)) } }
        )
        out.family("switchman_listener_sessions_total", .counter, "Sessions accepted.", each { String($0.sessionsTotal) })
        out.family("switchman_listener_held_connections", .gauge, "Connections waiting for a route (failover hold).", each { String($0.held) })
        out.family("switchman_listener_queued_connections", .gauge, "Connections waiting for a server slot.", each { String($0.queued) })
        out.family("switchman_listener_bytes_in_total", .counter, "Bytes from clients to servers.", each { String($0.bytesIn) })
        out.family("switchman_listener_bytes_out_total", .counter, "Bytes from servers to clients.", each { String($0.bytesOut) })
        out.family("switchman_listener_connect_errors_total", .counter, "Failed connects to servers.", each { String($0.connectErrors) })
        out.family("switchman_listener_retries_total", .counter, "Connects retried on another server or replayed.", each { String($0.retries) })
        out.family(
            "switchman_listener_stale_sessions_closed_total", .counter,
            "Sessions closed because their server left the route (leader change, replica excluded).", each { String($0.staleSessionsClosed) }
        )
        out.family(
            "switchman_listener_sessions_moved_by_route_change_total", .counter,
            "Sessions not yet answered by their server that a route change sent to the new route's server.",
            each { String($0.sessionsMovedByRouteChange) }
        )
        out.family(
            "switchman_listener_client_address_tagged_total", .counter,
            "Start-ups whose application_name got the client's address (client_address: application_name).",
            each { String($0.clientAddressTagged) }
        )
        out.family(
            "switchman_listener_client_address_untagged_encrypted_total", .counter,
            "Start-ups with client_address: application_name that went on untagged because they were encrypted.",
            each { String($0.clientAddressUntaggedEncrypted) }
        )
        out.family("switchman_listener_sessions_refused_total", .counter, "Connections refused (no route, hold timeout, limits).", each { String($0.sessionsRefused) })
        out.family(
            "switchman_listener_cancel_requests_forwarded_total", .counter, "PostgreSQL cancel requests forwarded.",
            each { String($0.cancelRequestsForwarded) }
        )
    }

    private static func members(_ ms: [MemberStats], scope: String?, _ out: inout PrometheusWriter) {
        // A cluster member is identified by (scope, member); a static server by (listener, member).
        func id(_ m: MemberStats) -> [(String, String)] {
            if let listener = m.listener { return [("listener", listener), ("member", m.name)] }
            return [("member", m.name), ("scope", scope ?? "")]
        }
        func each(_ value: (MemberStats) -> String) -> [PrometheusWriter.Sample] { ms.map { (id($0), value($0)) } }
        out.family(
            "switchman_member_info", .gauge, "A backend (always 1), with its address, Patroni role and state.",
            ms.map { (id($0) + [("address", $0.address ?? ""), ("role", $0.role ?? ""), ("state", $0.state ?? "")], "1") }
        )
        out.family(
            "switchman_member_status", .gauge, "Backend status: 1 for the current one (up, down, excluded, drain, maint), 0 for the others.",
            ms.flatMap { m in
                BackendStatus.allCases.map { (id(m) + [("status", $0.rawValue.lowercased())], m.status == $0 ? "1" : "0") }
            }
        )
        out.family(
            "switchman_member_admin_state", .gauge, "What an operator set for a cluster member: 1 for the current state (ready, drain, maint), 0 for the others.",
            ms.filter { $0.listener == nil }.flatMap { m in
                MemberAdminState.allCases.map { (id(m) + [("state", $0.rawValue)], m.adminState == $0 ? "1" : "0") }
            }
        )
        out.family("switchman_member_leader", .gauge, "Whether the leader znode names this member.", each { $0.isLeader ? "1" : "0" })
        out.family(
            "switchman_member_timeline", .gauge, "PostgreSQL timeline (absent when unknown).",
            ms.compactMap { m in m.timeline.map { (id(m), String($0)) } }
        )
        out.family(
            "switchman_member_lag_bytes", .gauge, "Replication lag behind the leader in bytes (absent when unknown).",
            ms.compactMap { m in m.lagBytes.map { (id(m), String($0)) } }
        )
        out.family(
            "switchman_member_lag_seconds", .gauge, "How far replay trails the primary, seconds (absent when unknown).",
            ms.compactMap { m in m.lagSeconds.map { (id(m), fmt($0)) } }
        )
        out.family(
            "switchman_member_check_failures_total", .counter, "Failed SQL checks of the member.",
            ms.filter { $0.listener == nil }.map { m in (id(m), String(m.checkFailuresTotal)) }
        )
        out.family(
            "switchman_member_last_status_change_timestamp_seconds", .gauge,
            "When the backend status last changed, seconds since the epoch (absent if never).",
            ms.compactMap { m in m.lastStatusChange.map { (id(m), fmt($0)) } }
        )
        out.family("switchman_member_sessions", .gauge, "Sessions open to the backend now.", each { String($0.sessionsCurrent) })
        out.family("switchman_member_sessions_total", .counter, "Sessions connected to the backend.", each { String($0.sessionsTotal) })
        out.family("switchman_member_bytes_in_total", .counter, "Bytes sent to the backend.", each { String($0.bytesIn) })
        out.family("switchman_member_bytes_out_total", .counter, "Bytes received from the backend.", each { String($0.bytesOut) })
        out.family(
            "switchman_member_check_ok", .gauge, "Whether the last run of a check of Switchman's own passed.",
            ms.flatMap { m in m.checks.map { (id(m) + [("check", $0.name)], $0.ok ? "1" : "0") } }
        )
        out.family(
            "switchman_member_check_duration_seconds", .gauge, "How long the last run of a check took (absent on timeout).",
            ms.flatMap { m in m.checks.compactMap { c in c.duration.map { (id(m) + [("check", c.name)], fmt($0)) } } }
        )
    }

    private static func loops(_ ls: [LoopStats], _ out: inout PrometheusWriter) {
        out.family(
            "switchman_loop_heartbeat_age_seconds", .gauge, "Seconds since the event loop last turned.",
            ls.map { ([("loop", String($0.id))], fmt($0.heartbeatAge)) }
        )
        out.family("switchman_loop_sessions", .gauge, "Sessions owned by the event loop.", ls.map { ([("loop", String($0.id))], String($0.sessions)) })
    }

    /// A sample value: at most 3 decimals, `NaN`/`+Inf`/`-Inf` as the format spells them.
    static func fmt(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "+Inf" : "-Inf" }
        return StatsFormat.jsonNumber(x)
    }
}

/// Accumulates exposition text, one metric family at a time.
struct PrometheusWriter {
    /// Labels (name, unescaped value) and the formatted value of one sample.
    typealias Sample = (labels: [(String, String)], value: String)

    /// The family's `# TYPE`.
    enum Kind: String {
        case counter
        case gauge
        case histogram
    }

    private(set) var text = ""

    /// Writes `# HELP`, `# TYPE` and the samples of one family (HELP/TYPE even without samples).
    mutating func family(_ name: String, _ kind: Kind, _ help: String, _ samples: [Sample]) {
        family(name, kind, help, samples.map { ("", $0) })
    }

    /// Writes a family whose samples carry a suffix to the name (a histogram's `_bucket`, `_sum`, `_count`).
    mutating func family(_ name: String, _ kind: Kind, _ help: String, _ samples: [(suffix: String, sample: Sample)]) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
        for (suffix, sample) in samples {
            text += name + suffix
            if !sample.labels.isEmpty {
                text += "{" + sample.labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(sample.value)\n"
        }
    }

    /// Label values escape backslash, double quote and line feed.
    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed.
    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
