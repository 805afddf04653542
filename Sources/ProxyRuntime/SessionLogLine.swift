import SwitchmanCore

/// The one log line written when a session ends (text `key=value` or JSON): client, listener,
/// backend, bytes each way, connect time, duration, and why it ended. A pure function of the
/// session's figures.
enum SessionLogLine {
    /// The line for `session`, ended for `reason` at monotonic time `now`.
    static func render(_ session: Session, reason: SessionEnd, format: SessionLog.Format, now: UInt64) -> String {
        let duration = Double(now &- session.acceptedAt) / 1e9
        let connect = session.establishedAt > 0 ? Double(session.establishedAt &- session.acceptedAt) / 1e3 / 1e3 : -1
        let backend = session.server.map { "\($0.name)" } ?? "-"
        let client = session.peer.map { "\($0)" } ?? "-"
        switch format {
        case .text:
            return "session=\(session.label) client=\(client) listener=\(session.listener.name) backend=\(backend) "
                + "bytes_in=\(session.bytesToServer) bytes_out=\(session.bytesToClient) "
                + "connect_ms=\(formatMillis(connect)) duration_s=\(formatSeconds(duration)) end=\(reason.code)"
                + (reasonDetail(reason).map { " detail=\"\($0)\"" } ?? "")
        case .json:
            var line = "{\"session\":\"\(session.label)\",\"client\":\"\(client)\",\"listener\":\(JSONText.quoted(session.listener.name)),"
            line += "\"backend\":\(JSONText.quoted(backend)),\"bytes_in\":\(session.bytesToServer),\"bytes_out\":\(session.bytesToClient),"
            line += "\"connect_ms\":\(formatMillis(connect)),\"duration_s\":\(formatSeconds(duration)),\"end\":\"\(reason.code)\""
            if let detail = reasonDetail(reason) { line += ",\"detail\":\(JSONText.quoted(detail))" }
            return line + "}"
        }
    }

    private static func reasonDetail(_ reason: SessionEnd) -> String? {
        switch reason {
        case .connectFailed(let d), .noBackend(let d), .error(let d), .routeChanged(let d), .cancelForwarded(let d): return d
        default: return nil
        }
    }
}

private func formatMillis(_ value: Double) -> String {
    value < 0 ? "-1" : String(Double(Int(value * 1000)) / 1000)
}

private func formatSeconds(_ value: Double) -> String {
    String(Double(Int(value * 1000)) / 1000)
}
