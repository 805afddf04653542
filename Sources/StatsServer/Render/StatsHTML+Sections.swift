import SwitchmanCore

// The server-side rendering of each section. The page's script (StatsHTML+Assets.swift) has a twin of
// every function here and must produce identical markup from `stats.json`; the Node test pins it.

extension StatsHTML {
    /// One section of the page: the id of its container, its heading, its inner HTML.
    struct Section: Equatable {
        let id: String
        let title: String
        let html: String
    }

    /// Every section, in page order.
    static func sections(_ s: StatsSnapshot) -> [Section] {
        [
            Section(id: "s-summary", title: "", html: summary(s)),
            Section(id: "s-listeners", title: "Listeners", html: listeners(s)),
            Section(id: "s-members", title: "Members", html: members(s)),
            Section(id: "s-events", title: "Recent events", html: events(s)),
            Section(id: "s-cluster", title: "Cluster", html: cluster(s)),
            Section(id: "s-process", title: "Process", html: process(s)),
            Section(id: "s-loops", title: "Event loops", html: loops(s)),
        ]
    }

    // MARK: small pieces

    private static func esc(_ s: String) -> String { StatsFormat.html(s) }
    private static let none = "<span class=\"muted\">—</span>"

    private static func chip(_ cls: String, _ text: String) -> String {
        "<span class=\"chip \(cls)\">\(esc(text))</span>"
    }

    /// `2023-11-14 22:13:20Z (5 min 3 s ago)`.
    private static func when(_ t: Double, _ now: Double) -> String {
        "\(StatsFormat.utc(t)) <span class=\"muted\">(\(ago(t, now)))</span>"
    }

    private static func ago(_ t: Double, _ now: Double) -> String {
        StatsFormat.duration(StatsFormat.round3(now) - StatsFormat.round3(t)) + " ago"
    }

    private static func kv(_ rows: [(String, String)]) -> String {
        "<table class=\"kv\"><tbody>" + rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</tbody></table>"
    }

    /// A table that turns into cards on a narrow screen; `cells` are (label, class, html).
    private static func table(_ labels: [String], _ rows: [(cls: String, cells: [(String, String)])]) -> String {
        var out = "<div class=\"scroll\"><table class=\"t\"><thead><tr>"
        out += labels.map { "<th>\($0)</th>" }.joined()
        out += "</tr></thead><tbody>"
        for row in rows {
            out += row.cls.isEmpty ? "<tr>" : "<tr class=\"\(row.cls)\">"
            for (i, cell) in row.cells.enumerated() {
                let cls = cell.0.isEmpty ? "" : " class=\"\(cell.0)\""
                out += "<td data-label=\"\(labels[i])\"\(cls)>\(cell.1)</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    private static func routeClass(_ state: String) -> String {
        switch state {
        case "ready": "up"
        case "hold": "warn"
        default: "down"
        }
    }

    private static func sessionClass(_ state: ZooKeeperSessionState) -> String {
        switch state {
        case .connected: "up"
        case .connecting, .reconnecting: "warn"
        case .expired: "down"
        case .noSession: "muted"
        }
    }

    private static func statusClass(_ status: BackendStatus) -> String {
        switch status {
        case .up: "up"
        case .down: "down"
        case .excluded: "excl"
        case .drain, .maint: "warn"
        }
    }

    // MARK: sections

    static func summary(_ s: StatsSnapshot) -> String {
        var out: String
        if let c = s.cluster {
            let zk = "ZooKeeper " + esc(c.session.rawValue)
            if let l = c.leader {
                let cls = !l.confirmed ? "warn" : (c.session == .connected ? "ok" : "warn")
                out = "<div class=\"banner \(cls)\"><div class=\"big\">Leader <span class=\"leader-name\">\(esc(l.name))</span></div>"
                out += "<div>\(l.confirmed ? "confirmed" : "not confirmed yet") · since \(when(l.since, s.generatedAt))"
                out += " · generation \(c.generation) · \(zk)</div></div>"
            } else {
                out = "<div class=\"banner bad\"><div class=\"big\">No leader</div>"
                out += "<div>generation \(c.generation) · \(zk)</div></div>"
            }
        } else {
            out = "<div class=\"banner ok\"><div class=\"big\">Static listeners</div><div>no cluster configured</div></div>"
        }
        out += "<div class=\"chips\">"
        for l in s.listeners {
            var text = "\(l.name): \(l.routeState.name)"
            if !l.routeServers.isEmpty { text += " → " + l.routeServers.joined(separator: ", ") }
            if let reason = l.routeState.reason { text += " — " + reason }
            out += chip(routeClass(l.routeState.name), text)
        }
        return out + "</div>"
    }

    static func listeners(_ s: StatsSnapshot) -> String {
        if s.listeners.isEmpty { return "<p class=\"muted\">No listeners.</p>" }
        let labels = [
            "Listener", "Bind", "Role", "Route", "Sessions", "Total", "Held", "Queued", "Sessions/s",
            "In", "Out", "In/s", "Out/s", "Conn. errors", "Retries", "Stale closed", "Refused", "Cancels",
        ]
        let rows = s.listeners.map { l -> (cls: String, cells: [(String, String)]) in
            var route = chip(routeClass(l.routeState.name), l.routeState.name)
            if l.paused { route += " " + chip("warn", "paused") }
            if !l.routeServers.isEmpty { route += " → " + esc(l.routeServers.joined(separator: ", ")) }
            if let reason = l.routeState.reason { route += "<div class=\"reason\">\(esc(reason))</div>" }
            let sessions = l.sessionsMax.map { "\(l.sessionsCurrent) / \($0)" } ?? String(l.sessionsCurrent)
            return ("", [
                ("", "<b>\(esc(l.name))</b>"),
                ("", esc(l.bind)),
                ("", esc(l.role.rawValue)),
                ("", route),
                ("n", sessions),
                ("n", String(l.sessionsTotal)),
                ("n", String(l.held)),
                ("n", String(l.queued)),
                ("n", StatsFormat.tenths(l.sessionsPerSecond)),
                ("n", StatsFormat.bytes(Double(l.bytesIn))),
                ("n", StatsFormat.bytes(Double(l.bytesOut))),
                ("n", StatsFormat.bytes(l.bytesInPerSecond) + "/s"),
                ("n", StatsFormat.bytes(l.bytesOutPerSecond) + "/s"),
                ("n", String(l.connectErrors)),
                ("n", String(l.retries)),
                ("n", String(l.staleSessionsClosed)),
                ("n", String(l.sessionsRefused)),
                ("n", String(l.cancelRequestsForwarded)),
            ])
        }
        return table(labels, rows)
    }

    static func members(_ s: StatsSnapshot) -> String {
        if s.members.isEmpty { return "<p class=\"muted\">No members.</p>" }
        let labels = [
            "Member", "Address", "Role", "State", "Timeline", "Lag", "Tags", "Status", "Changed",
            "Sessions", "Total", "In", "Out", "Checks",
        ]
        let rows = s.members.map { m -> (cls: String, cells: [(String, String)]) in
            var name = "<b>\(esc(m.name))</b>"
            if m.isLeader { name += " " + chip("leader", "leader") }
            if let listener = m.listener { name += "<div class=\"reason\">static · \(esc(listener))</div>" }
            var status = chip(statusClass(m.status), m.status.rawValue)
            if m.adminState != .ready { status += " " + chip("warn", "admin: \(m.adminState.rawValue)") }
            if let reason = m.statusReason { status += "<div class=\"reason\">\(esc(reason))</div>" }
            let changed = m.lastStatusChange.map { "<span title=\"\(StatsFormat.utc($0))\">\(ago($0, s.generatedAt))</span>" } ?? none
            let checks = m.checks.isEmpty ? none : m.checks.map { c in
                chip(c.ok ? "up" : "down", c.name) + (c.detail.isEmpty ? "" : " " + esc(c.detail))
            }.joined(separator: "<br>")
            return (m.isLeader ? "leader" : "", [
                ("", name),
                ("", m.address.map(esc) ?? none),
                ("", m.role.map(esc) ?? none),
                ("", m.state.map(esc) ?? none),
                ("n", m.timeline.map { String($0) } ?? none),
                ("n", m.lagBytes.map { StatsFormat.bytes(Double($0)) } ?? none),
                ("", m.tags.isEmpty ? none : m.tags.map { chip("tag", $0) }.joined(separator: " ")),
                ("", status),
                ("", changed),
                ("n", String(m.sessionsCurrent)),
                ("n", String(m.sessionsTotal)),
                ("n", StatsFormat.bytes(Double(m.bytesIn))),
                ("n", StatsFormat.bytes(Double(m.bytesOut))),
                ("", checks),
            ])
        }
        return table(labels, rows)
    }

    static func events(_ s: StatsSnapshot) -> String {
        if s.events.isEmpty { return "<p class=\"muted\">No events yet.</p>" }
        var out = "<ol class=\"events\">"
        for e in s.events {
            out += "<li class=\"\(esc(e.kind.rawValue))\">\(when(e.time, s.generatedAt)) "
            out += "<span class=\"kind\">\(esc(e.kind.rawValue))</span> \(esc(e.message))"
            if let d = e.leaderChange {
                out += "<div class=\"detail\">\(esc(d.oldLeader ?? "none")) → \(esc(d.newLeader ?? "none"))"
                out += " · generation \(d.generation) · \(d.sessionsClosed) sessions closed · "
                out += d.timeToConfirmation.map { "confirmed in " + StatsFormat.duration($0) } ?? "not confirmed"
                out += "</div>"
            }
            out += "</li>"
        }
        return out + "</ol>"
    }

    static func cluster(_ s: StatsSnapshot) -> String {
        guard let c = s.cluster else { return "<p class=\"muted\">No cluster configured: static listeners only.</p>" }
        var leader = chip("down", "none")
        if let l = c.leader {
            leader = "<span class=\"leader-name\">\(esc(l.name))</span> "
            leader += l.confirmed ? chip("up", "confirmed") : chip("warn", "not confirmed")
            leader += " since \(when(l.since, s.generatedAt))"
        }
        return kv([
            ("Scope", esc(c.scope)),
            ("Namespace", esc(c.namespace)),
            ("ZooKeeper", esc(c.zookeeperHosts.joined(separator: ", "))),
            ("Session", chip(sessionClass(c.session), c.session.rawValue)),
            ("Last event", c.lastEventTime.map { when($0, s.generatedAt) } ?? none),
            ("Leader", leader),
            ("Generation", String(c.generation)),
            ("Leader changes", String(c.leaderChangesTotal)),
            ("Connection", "\(c.disconnectsTotal) disconnects, \(c.sessionExpiriesTotal) expiries"),
            ("Disagreements", "\(c.leaderDisagreementsTotal) read-only leader, \(c.splitBrainsTotal) split brain, \(c.dcsLossWriteCutsTotal) writes cut (on_dcs_loss: \(esc(c.dcsLossPolicy)))"),
        ])
    }

    static func process(_ s: StatsSnapshot) -> String {
        let p = s.process
        var reload = none
        if let r = p.lastReload {
            reload = chip(r.succeeded ? "up" : "down", r.succeeded ? "applied" : "rejected")
            reload += " \(when(r.time, s.generatedAt)) \(esc(r.message))"
        }
        return kv([
            ("Version", esc(p.version)),
            ("PID", String(p.pid)),
            ("Threads", String(p.threads)),
            ("Started", when(p.startTime, s.generatedAt)),
            ("Uptime", StatsFormat.duration(s.uptime)),
            ("Config file", p.configFile.map(esc) ?? none),
            ("Last reload", reload),
            ("Reloads", "\(p.reloadsTotal) (\(p.reloadFailuresTotal) rejected)"),
        ])
    }

    static func loops(_ s: StatsSnapshot) -> String {
        if s.loops.isEmpty { return "<p class=\"muted\">No event loop reported.</p>" }
        return table(
            ["Loop", "Heartbeat", "Sessions"],
            s.loops.map { l in
                ("", [("n", String(l.id)), ("n", StatsFormat.duration(l.heartbeatAge) + " ago"), ("n", String(l.sessions))])
            }
        )
    }
}
