import SwitchmanCore

/// `/`: one self-contained HTML page (inline CSS and script, no external assets) showing the whole
/// snapshot.
///
/// Every section is rendered on the server, so the page is complete without JavaScript (a
/// `<noscript>` meta refresh reloads it). With JavaScript, a small script polls `stats.json` every
/// `refresh` and re-renders each section with the same markup (a test runs the script under Node and
/// checks that it produces exactly the server's sections). Every string from outside (member names,
/// reasons, tags: they come from ZooKeeper) is HTML-escaped, on both sides.
public enum StatsHTML {
    /// The `Content-Type` of the page.
    public static let contentType = "text/html; charset=utf-8"

    /// The `Content-Security-Policy` the page is served with: nothing but its own inline style and
    /// script, and `fetch` to its own origin.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The page for `snapshot`, polling for fresh data every `refresh` (at least 250 ms).
    public static func render(_ snapshot: StatsSnapshot, refresh: Duration) -> String {
        let ms = max(250, refresh.components.seconds * 1000 + refresh.components.attoseconds / 1_000_000_000_000_000)
        let seconds = max(1, (ms + 999) / 1000)
        let title = snapshot.cluster.map { "Switchman · \($0.scope)" } ?? "Switchman"
        var page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(StatsFormat.html(title))</title>
        <noscript><meta http-equiv="refresh" content="\(seconds)"></noscript>
        <style>\(css)</style>
        </head>
        <body data-refresh-ms="\(ms)">
        <header><h1>Switchman <span class="muted" id="version">\(StatsFormat.html(snapshot.process.version))</span></h1>\
        <div id="updated" class="muted">snapshot \(StatsFormat.utc(snapshot.generatedAt))</div></header>

        """
        for section in sections(snapshot) {
            let heading = section.title.isEmpty ? "" : "<h2>\(section.title)</h2>"
            page += "<section>\(heading)<div id=\"\(section.id)\">\(section.html)</div></section>\n"
            if section.id == "s-members", snapshot.ledger != nil {
                // Not one of `sections`: the script has no twin of it and fetches /ledger.html instead.
                page += "<section><h2>Failovers</h2><div id=\"\(LedgerHTML.sectionID)\">\(LedgerHTML.render(snapshot))</div></section>\n"
            }
        }
        page += "<script>\(script)</script>\n</body>\n</html>\n"
        return page
    }
}
