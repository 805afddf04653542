import SwitchmanCore

extension PrometheusText {
    /// The failover ledger's histograms: write-unavailability windows (one observation per settled
    /// failover) and held connections' waits per listener, plus the ledger's counts.
    static func ledger(_ l: LedgerStats, scope: String?, _ out: inout PrometheusWriter) {
        let labels = scope.map { [("scope", $0)] } ?? []
        out.histogram(
            "switchman_write_unavailable_seconds",
            "Write-unavailability window of each failover: from the old leader's last reply (or the switchover request, or the leader znode change) to the first byte forwarded to the new leader.",
            [(labels, l.writeUnavailable)])
        out.histogram(
            "switchman_hold_wait_seconds",
            "How long held connections waited, from accept to their connect, their hold timeout or their client's hang-up.",
            l.holdWait.map { ([("listener", $0.listener)], $0.histogram) })
    }
}

extension PrometheusWriter {
    /// Writes one histogram family: `_bucket` samples with cumulative counts for every bound and
    /// `+Inf`, then `_sum` and `_count`, for each labelled histogram.
    mutating func histogram(_ name: String, _ help: String, _ histograms: [(labels: [(String, String)], histogram: LatencyHistogram)]) {
        var samples: [(suffix: String, sample: Sample)] = []
        for (labels, h) in histograms {
            for (bound, count) in zip(h.bounds, h.cumulative) {
                samples.append(("_bucket", (labels + [("le", PrometheusText.fmt(bound))], String(count))))
            }
            samples.append(("_bucket", (labels + [("le", "+Inf")], String(h.count))))
            samples.append(("_sum", (labels, PrometheusText.fmt(h.sum))))
            samples.append(("_count", (labels, String(h.count))))
        }
        family(name, .histogram, help, samples)
    }
}
