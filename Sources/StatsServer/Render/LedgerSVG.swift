import SwitchmanCore

/// The page's inline SVG pictures, drawn on the server (no script, no library): the timeline of
/// write availability per primary listener over the ledger's window with each failover marked, and
/// small plots of sessions/s, bytes/s and held connections per listener.
///
/// Output is well-formed XML (no `xmlns`: inline SVG in HTML needs none, and the page names no URL) (every string from outside is escaped) and depends only on the
/// snapshot, so a fixed snapshot draws the same bytes.
enum LedgerSVG {
    /// Width of the timeline's viewBox; the plot area runs from ``timelineLeft`` to `timelineWidth - timelineRight`.
    static let timelineWidth = 900.0
    static let timelineLeft = 100.0
    static let timelineRight = 10.0
    static let laneHeight = 22.0
    static let laneGap = 6.0
    static let timelineTop = 18.0

    /// Failovers (newest first) whose mark gets a line of text under the lanes.
    static let labelledFailovers = 3

    /// Width of the plot area of the timeline.
    static var plotWidth: Double { timelineWidth - timelineLeft - timelineRight }

    /// The timeline's x for time `t`, with `now` at the right edge and `now - window` at the left (clamped).
    static func x(_ t: Double, now: Double, window: Double) -> Double {
        let fraction = min(1, max(0, (t - (now - window)) / window))
        return timelineLeft + fraction * plotWidth
    }

    /// A coordinate with one decimal at most.
    static func coord(_ v: Double) -> String {
        StatsFormat.jsonNumber((v * 10).rounded() / 10)
    }

    private static func esc(_ s: String) -> String { StatsFormat.html(s) }

    /// Seconds with at most 3 decimals and a unit (`1.234 s`).
    static func seconds(_ v: Double) -> String { StatsFormat.jsonNumber(StatsFormat.round3(max(0, v))) + " s" }

    /// The write-availability timeline: one lane per primary listener (green: writes available, red:
    /// unavailable, grey: not sampled yet), one dashed line per failover at its `leader` znode change.
    static func timeline(_ ledger: LedgerStats, now: Double) -> String {
        let window = ledger.window
        let lanes = ledger.series.filter { $0.role == .primary }
        let marked = ledger.failovers.filter { $0.change.leaderChangedAt >= now - window && $0.change.leaderChangedAt <= now }
        // The newest few failovers get a line of text each under the lanes (close ones would overlap
        // on one line); every mark has its text as a tooltip.
        let labelled = min(marked.count, labelledFailovers)
        let bottom = timelineTop + Double(max(lanes.count, 1)) * (laneHeight + laneGap)
        let height = bottom + 4 + Double(max(labelled, 1)) * 12
        var out = "<svg class=\"timeline\" viewBox=\"0 0 \(coord(timelineWidth)) \(coord(height))\""
        out += " role=\"img\" aria-label=\"Write availability per listener over the last \(Int(window / 60)) min\">"
        out += "<title>Write availability per listener over the last \(Int(window / 60)) min; failovers marked</title>"
        // Axis: a tick every 5 minutes, labelled relative to now.
        for minutes in stride(from: 0, through: Int(window / 60), by: 5) {
            let tx = x(now - Double(minutes) * 60, now: now, window: window)
            out += "<line class=\"tl-tick\" x1=\"\(coord(tx))\" y1=\"\(coord(timelineTop - 4))\" x2=\"\(coord(tx))\" y2=\"\(coord(bottom))\"/>"
            let anchor = minutes == 0 ? "end" : minutes == Int(window / 60) ? "start" : "middle"
            out += "<text class=\"tl-axis\" x=\"\(coord(tx))\" y=\"12\" text-anchor=\"\(anchor)\">\(minutes == 0 ? "now" : "−\(minutes) min")</text>"
        }
        if lanes.isEmpty {
            out += "<text class=\"tl-label\" x=\"\(coord(timelineLeft))\" y=\"\(coord(timelineTop + 15))\">no primary listener</text>"
        }
        for (index, lane) in lanes.enumerated() {
            let y = timelineTop + Double(index) * (laneHeight + laneGap)
            out += "<g class=\"tl-lane\" data-listener=\"\(esc(lane.listener))\">"
            out += "<text class=\"tl-label\" x=\"4\" y=\"\(coord(y + 15))\">\(esc(lane.listener))</text>"
            out += rect("tl-nodata", from: now - window, to: now, y: y, now: now, window: window)
            if let first = lane.points.first {
                // A point tells the state of the second before it.
                out += rect("tl-up", from: first.time - 1, to: now, y: y, now: now, window: window)
                for run in downRuns(lane.points) {
                    out += rect("tl-down", from: run.from, to: run.to, y: y, now: now, window: window)
                }
            }
            for failover in ledger.failovers where (failover.unavailableUntil ?? now) >= now - window {
                out += rect("tl-down tl-window", from: failover.unavailableFrom, to: failover.unavailableUntil ?? now, y: y, now: now,
                            window: window)
            }
            out += "</g>"
        }
        for (rank, failover) in marked.enumerated() {
            let c = failover.change
            let mx = x(c.leaderChangedAt, now: now, window: window)
            let label = "\(c.oldLeader ?? "none") → \(c.newLeader ?? "none")"
                + (failover.unavailableSeconds.map { ", writes unavailable " + seconds($0) } ?? ", writes unavailable")
            out += "<g class=\"tl-failover\" data-failover-id=\"\(c.id)\" data-x=\"\(coord(mx))\"><title>\(esc(label))</title>"
            out += "<line class=\"tl-mark\" x1=\"\(coord(mx))\" y1=\"\(coord(timelineTop - 4))\" x2=\"\(coord(mx))\" y2=\"\(coord(bottom))\"/>"
            if rank < labelled {
                let anchor = mx > timelineLeft + plotWidth * 0.7 ? "end" : "start"
                let offset = anchor == "end" ? -3.0 : 3.0
                let y = bottom + 12 + Double(rank) * 12
                out += "<text class=\"tl-note\" x=\"\(coord(mx + offset))\" y=\"\(coord(y))\" text-anchor=\"\(anchor)\">\(esc(label))</text>"
            }
            out += "</g>"
        }
        return out + "</svg>"
    }

    private static func rect(_ cls: String, from: Double, to: Double, y: Double, now: Double, window: Double) -> String {
        let x0 = x(from, now: now, window: window)
        let x1 = x(to, now: now, window: window)
        guard x1 > x0 else { return "" }
        return "<rect class=\"\(cls)\" x=\"\(coord(x0))\" y=\"\(coord(y))\" width=\"\(coord(max(0.5, x1 - x0)))\" height=\"\(coord(laneHeight))\"/>"
    }

    /// Stretches of seconds sampled not ready, as (from, to) times.
    static func downRuns(_ points: [SeriesPoint]) -> [(from: Double, to: Double)] {
        var runs: [(from: Double, to: Double)] = []
        for point in points where !point.ready {
            if let last = runs.last, point.time - 1 <= last.to + 0.5 {
                runs[runs.count - 1].to = point.time
            } else {
                runs.append((point.time - 1, point.time))
            }
        }
        return runs
    }

    /// Width and height of a small plot.
    static let plotSize = (width: 240.0, height: 48.0)

    /// A small plot of one value of a listener's series over the window: a line, its peak as text.
    static func sparkline(_ series: ListenerSeries, now: Double, window: Double, title: String, value: (SeriesPoint) -> Double,
                          format: (Double) -> String) -> String {
        let (w, h) = plotSize
        let top = 12.0
        let values = series.points.map(value)
        let peak = values.max() ?? 0
        var out = "<svg class=\"spark\" viewBox=\"0 0 \(coord(w)) \(coord(h))\" role=\"img\""
        out += " aria-label=\"\(esc(series.listener)) \(esc(title)), last \(Int(window / 60)) min\">"
        out += "<title>\(esc(series.listener)): \(esc(title)), peak \(esc(format(peak)))</title>"
        out += "<rect class=\"sp-bg\" x=\"0\" y=\"\(coord(top))\" width=\"\(coord(w))\" height=\"\(coord(h - top))\"/>"
        out += "<text class=\"sp-label\" x=\"2\" y=\"9\">\(esc(title))</text>"
        out += "<text class=\"sp-label\" x=\"\(coord(w - 2))\" y=\"9\" text-anchor=\"end\">peak \(esc(format(peak)))</text>"
        if !series.points.isEmpty {
            let coords = zip(series.points, values).map { point, v -> String in
                let px = min(1, max(0, (point.time - (now - window)) / window)) * w
                let py = h - (peak > 0 ? v / peak : 0) * (h - top - 2) - 1
                return "\(coord(px)),\(coord(py))"
            }
            out += "<polyline class=\"sp-line\" points=\"\(coords.joined(separator: " "))\"/>"
        }
        return out + "</svg>"
    }
}
