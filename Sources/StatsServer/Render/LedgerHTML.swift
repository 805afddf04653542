import SwitchmanCore

/// The page's "Failovers" section: the write-availability timeline, the ledger's table, and the
/// per-listener plots. Server-rendered only (it has no twin in the page's script); with JavaScript
/// the page fetches it again from `/ledger.html` on each refresh, without it the page reloads.
public enum LedgerHTML {
    /// The section's container id on the page.
    static let sectionID = "s-ledger"
    /// Rows of the failover table (the JSON keeps the whole history).
    static let tableRows = 10

    /// The section's inner HTML for `snapshot` (also the body of `/ledger.html`).
    public static func render(_ s: StatsSnapshot) -> String {
        let ledger = s.ledger ?? LedgerStats()
        var out = LedgerSVG.timeline(ledger, now: s.generatedAt)
        out += failoverTable(ledger.failovers, now: s.generatedAt)
        out += plots(ledger, now: s.generatedAt)
        return out
    }

    private static func esc(_ s: String) -> String { StatsFormat.html(s) }
    private static let none = "<span class=\"muted\">—</span>"

    /// Seconds from the change's start, `+1.234 s`.
    private static func offset(_ t: Double?, from start: Double) -> String {
        guard let t else { return none }
        let d = StatsFormat.round3(t - start)
        return (d >= 0 ? "+" : "−") + StatsFormat.jsonNumber(abs(d)) + " s"
    }

    static func failoverTable(_ failovers: [FailoverRecord], now: Double) -> String {
        if failovers.isEmpty { return "<p class=\"muted\">No failover since start.</p>" }
        let labels = ["When", "Change", "Writes unavailable", "Steps", "Sessions closed", "Held", "Refused"]
        var out = "<div class=\"scroll\"><table class=\"t ledger\"><thead><tr>" + labels.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
        for r in failovers.prefix(tableRows) {
            let c = r.change
            let start = c.startedAt
            let kind = c.switchoverRequestedAt == nil ? "failover" : "switchover"
            var cells: [(String, String)] = []
            cells.append(("", StatsFormat.utc(start) + " <span class=\"muted\">(" + StatsFormat.duration(StatsFormat.round3(now) - StatsFormat.round3(start)) + " ago)</span>"))
            cells.append(("", "<span class=\"chip tag\">\(kind)</span> \(esc(c.oldLeader ?? "none")) → \(esc(c.newLeader ?? "none"))"))
            let window = r.unavailableSeconds.map { LedgerSVG.seconds($0) + (r.settled ? "" : " <span class=\"muted\">(open)</span>") }
                ?? "<span class=\"chip warn\">ongoing</span>"
            cells.append(("num", window))
            var steps: [String] = []
            if c.switchoverRequestedAt != nil { steps.append("failover znode " + offset(c.switchoverRequestedAt, from: start)) }
            steps.append("leader znode " + offset(c.leaderChangedAt, from: start))
            steps.append("confirmed " + offset(c.confirmedAt, from: start))
            steps.append("first byte " + offset(r.firstByteAt, from: start))
            cells.append(("", steps.joined(separator: "<br>")))
            cells.append(("num", String(c.sessionsClosed)))
            var held = "\(r.held.count)"
            if r.held.count > 0 {
                let p = [r.held.waitP50, r.held.waitP99, r.held.waitMax].map { $0.map(LedgerSVG.seconds) ?? "—" }
                held += " <span class=\"muted\">(p50 \(p[0]) · p99 \(p[1]) · max \(p[2]) · \(r.held.timedOut) timed out · \(r.held.abandoned) abandoned)</span>"
            }
            cells.append(("num", held))
            cells.append(("num", String(r.refused)))
            out += "<tr data-failover-id=\"\(c.id)\">"
            for (i, cell) in cells.enumerated() {
                out += "<td data-label=\"\(labels[i])\"\(cell.0.isEmpty ? "" : " class=\"\(cell.0)\"")>\(cell.1)</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    static func plots(_ ledger: LedgerStats, now: Double) -> String {
        guard !ledger.series.isEmpty else { return "" }
        var out = "<div class=\"scroll\"><table class=\"t plots\"><thead><tr><th>Listener</th><th>Sessions/s</th><th>Bytes/s</th><th>Held</th></tr></thead><tbody>"
        for series in ledger.series {
            out += "<tr><td data-label=\"Listener\">\(esc(series.listener))</td>"
            out += "<td data-label=\"Sessions/s\">" + LedgerSVG.sparkline(
                series, now: now, window: ledger.window, title: "sessions/s", value: \.sessionsPerSecond,
                format: { StatsFormat.tenths($0) }) + "</td>"
            out += "<td data-label=\"Bytes/s\">" + LedgerSVG.sparkline(
                series, now: now, window: ledger.window, title: "bytes/s", value: \.bytesPerSecond,
                format: { StatsFormat.bytes($0) + "/s" }) + "</td>"
            out += "<td data-label=\"Held\">" + LedgerSVG.sparkline(
                series, now: now, window: ledger.window, title: "held", value: { Double($0.held) }, format: { String(Int($0)) }) + "</td></tr>"
        }
        return out + "</tbody></table></div>"
    }
}
