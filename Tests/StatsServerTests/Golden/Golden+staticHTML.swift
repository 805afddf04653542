// Generated: SWITCHMAN_UPDATE_GOLDEN=1 swift test --filter GoldenTests (review the diff before committing).
extension Golden {
    static let staticHTML = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchman</title>
<noscript><meta http-equiv="refresh" content="2"></noscript>
<style>/* StatsHTML.css */</style>
</head>
<body data-refresh-ms="1500">
<header><h1>Switchman <span class="muted" id="version">0.1.0</span></h1><div id="updated" class="muted">snapshot 2023-11-14 22:13:20Z</div></header>
<section><div id="s-summary"><div class="banner ok"><div class="big">Static listeners</div><div>no cluster configured</div></div><div class="chips"><span class="chip up">web: ready → 127.0.0.1:9000</span></div></div></section>
<section><h2>Listeners</h2><div id="s-listeners"><div class="scroll"><table class="t"><thead><tr><th>Listener</th><th>Bind</th><th>Role</th><th>Route</th><th>Sessions</th><th>Total</th><th>Held</th><th>Queued</th><th>Sessions/s</th><th>In</th><th>Out</th><th>In/s</th><th>Out/s</th><th>Conn. errors</th><th>Retries</th><th>Stale closed</th><th>Refused</th><th>Cancels</th></tr></thead><tbody><tr><td data-label="Listener"><b>web</b></td><td data-label="Bind">[::]:8080</td><td data-label="Role">static</td><td data-label="Route"><span class="chip up">ready</span> → 127.0.0.1:9000</td><td data-label="Sessions" class="n">0</td><td data-label="Total" class="n">0</td><td data-label="Held" class="n">0</td><td data-label="Queued" class="n">0</td><td data-label="Sessions/s" class="n">0.0</td><td data-label="In" class="n">0 B</td><td data-label="Out" class="n">0 B</td><td data-label="In/s" class="n">0 B/s</td><td data-label="Out/s" class="n">0 B/s</td><td data-label="Conn. errors" class="n">0</td><td data-label="Retries" class="n">0</td><td data-label="Stale closed" class="n">0</td><td data-label="Refused" class="n">0</td><td data-label="Cancels" class="n">0</td></tr></tbody></table></div></div></section>
<section><h2>Members</h2><div id="s-members"><p class="muted">No members.</p></div></section>
<section><h2>Recent events</h2><div id="s-events"><p class="muted">No events yet.</p></div></section>
<section><h2>Cluster</h2><div id="s-cluster"><p class="muted">No cluster configured: static listeners only.</p></div></section>
<section><h2>Process</h2><div id="s-process"><table class="kv"><tbody><tr><th>Version</th><td>0.1.0</td></tr><tr><th>PID</th><td>1</td></tr><tr><th>Threads</th><td>1</td></tr><tr><th>Started</th><td>2023-11-14 22:13:19Z <span class="muted">(500 ms ago)</span></td></tr><tr><th>Uptime</th><td>500 ms</td></tr><tr><th>Config file</th><td><span class="muted">—</span></td></tr><tr><th>Last reload</th><td><span class="muted">—</span></td></tr><tr><th>Reloads</th><td>0 (0 rejected)</td></tr></tbody></table></div></section>
<section><h2>Event loops</h2><div id="s-loops"><div class="scroll"><table class="t"><thead><tr><th>Loop</th><th>Heartbeat</th><th>Sessions</th></tr></thead><tbody><tr><td data-label="Loop" class="n">0</td><td data-label="Heartbeat" class="n">0 ms ago</td><td data-label="Sessions" class="n">0</td></tr></tbody></table></div></div></section>
<script>/* StatsHTML.script */</script>
</body>
</html>

"""#
}
