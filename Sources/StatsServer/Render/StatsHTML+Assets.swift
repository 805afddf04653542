// The page's inline style sheet and script. The script's section functions are twins of
// StatsHTML+Sections.swift and must produce identical markup from stats.json (the Node test checks it).

extension StatsHTML {
    /// Inline CSS: light and dark, tables that become cards under 760 px.
    static let css = #"""
    :root{color-scheme:light dark;--bg:#fff;--fg:#1d232a;--muted:#66707b;--line:#dde1e6;--card:#f6f8fa;--up:#1a7f37;--down:#cf222e;--warn:#9a6700;--excl:#8250df;--leader:#fff8c5}
    @media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8b949e;--line:#30363d;--card:#161b22;--up:#3fb950;--down:#f85149;--warn:#d29922;--excl:#a371f7;--leader:#2b2711}}
    *{box-sizing:border-box}
    body{margin:0;padding:12px 16px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
    header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px}
    h1{font-size:20px;margin:0}
    h2{font-size:16px;margin:22px 0 6px}
    .muted{color:var(--muted)}
    #updated.stale{color:var(--down);font-weight:600}
    .banner{border-left:6px solid var(--up);background:var(--card);padding:10px 14px;margin:12px 0 8px;border-radius:6px}
    .banner.warn{border-left-color:var(--warn)}
    .banner.bad{border-left-color:var(--down)}
    .big{font-size:22px;font-weight:600}
    .leader-name{font-weight:700}
    .chips{display:flex;flex-wrap:wrap;gap:6px}
    .chip{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid currentColor;white-space:nowrap}
    .chip.up{color:var(--up)}
    .chip.down{color:var(--down)}
    .chip.warn,.chip.leader{color:var(--warn)}
    .chip.excl{color:var(--excl)}
    .chip.tag,.chip.muted{color:var(--muted);font-weight:400}
    .scroll{overflow-x:auto}
    table{border-collapse:collapse;width:100%}
    th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
    th{font-weight:600;white-space:nowrap}
    td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
    table.kv th{width:9em;color:var(--muted);font-weight:500}
    tr.leader td{background:var(--leader)}
    .reason,.detail{font-size:12px;color:var(--muted)}
    .kind{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
    ol.events{list-style:none;padding:0;margin:0}
    ol.events li{padding:4px 0 4px 10px;border-bottom:1px solid var(--line);border-left:4px solid transparent}
    ol.events li.leader_change{border-left-color:var(--warn)}
    ol.events li.zookeeper{border-left-color:var(--excl)}
    svg.timeline{display:block;width:100%;max-width:900px;height:auto;font:11px system-ui,sans-serif}
    .tl-nodata{fill:var(--line)}.tl-up{fill:var(--up);fill-opacity:.45}.tl-down{fill:var(--down)}.tl-window{fill-opacity:.85}
    .tl-tick{stroke:var(--line)}.tl-axis,.tl-label,.tl-note,.sp-label{fill:var(--muted)}.tl-label{fill:var(--fg)}
    .tl-mark{stroke:var(--fg);stroke-width:1.5;stroke-dasharray:3 2}
    svg.spark{display:block;width:240px;height:48px;font:9px system-ui,sans-serif}
    .sp-bg{fill:var(--card);stroke:var(--line)}.sp-line{fill:none;stroke:var(--up);stroke-width:1.2}
    @media (max-width:760px){
    body{padding:8px 10px 24px}
    table.t thead{display:none}
    table.t tr{display:block;border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:4px 0}
    table.t td{display:flex;justify-content:space-between;gap:12px;border:0;padding:2px 8px;text-align:right;white-space:normal}
    table.t td::before{content:attr(data-label);color:var(--muted);text-align:left;white-space:nowrap}
    }
    """#

    /// Inline script: polls `stats.json` and re-renders every section (twins of the Swift renderers).
    static let script = #"""
    (function () {
    "use strict";
    var NONE = '<span class="muted">—</span>';
    var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
    function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
    function opt(s) { return s !== null ? esc(s) : NONE; }
    function r3(x) { return Math.abs(x) >= 1e15 ? x : Math.round(x * 1000) / 1000; }
    function pad(n, w) { var s = String(n); while (s.length < w) { s = "0" + s; } return s; }
    function utc(t) {
      var d = new Date(Math.floor(r3(t)) * 1000);
      return pad(d.getUTCFullYear(), 4) + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2) + " " +
        pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) + "Z";
    }
    function dur(x) {
      var s = Math.max(0, r3(x));
      if (s < 1) { return Math.round(s * 1000) + " ms"; }
      var w = Math.floor(s);
      if (w < 60) { return w + " s"; }
      if (w < 3600) { return Math.floor(w / 60) + " min " + (w % 60) + " s"; }
      if (w < 86400) { return Math.floor(w / 3600) + " h " + (Math.floor(w / 60) % 60) + " min"; }
      return Math.floor(w / 86400) + " d " + (Math.floor(w / 3600) % 24) + " h";
    }
    function tenths(x) { var t = Math.round(Math.max(0, r3(x)) * 10); return Math.floor(t / 10) + "." + (t % 10); }
    function bytes(v) {
      var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], x = Math.max(0, r3(v)), u = 0;
      while (x >= 1024 && u < units.length - 1) { x /= 1024; u++; }
      return u === 0 ? Math.round(x) + " B" : tenths(x) + " " + units[u];
    }
    function chip(cls, text) { return '<span class="chip ' + cls + '">' + esc(text) + "</span>"; }
    function ago(t, now) { return dur(now - t) + " ago"; }
    function when(t, now) { return utc(t) + ' <span class="muted">(' + ago(t, now) + ")</span>"; }
    function kv(rows) {
      return '<table class="kv"><tbody>' + rows.map(function (r) { return "<tr><th>" + r[0] + "</th><td>" + r[1] + "</td></tr>"; }).join("") + "</tbody></table>";
    }
    function table(labels, rows) {
      var out = '<div class="scroll"><table class="t"><thead><tr>' + labels.map(function (l) { return "<th>" + l + "</th>"; }).join("") + "</tr></thead><tbody>";
      rows.forEach(function (row) {
        out += row[0] ? '<tr class="' + row[0] + '">' : "<tr>";
        row[1].forEach(function (c, i) { out += '<td data-label="' + labels[i] + '"' + (c[0] ? ' class="' + c[0] + '"' : "") + ">" + c[1] + "</td>"; });
        out += "</tr>";
      });
      return out + "</tbody></table></div>";
    }
    function routeClass(s) { return s === "ready" ? "up" : s === "hold" ? "warn" : "down"; }
    function sessionClass(s) { return s === "connected" ? "up" : (s === "connecting" || s === "reconnecting") ? "warn" : s === "expired" ? "down" : "muted"; }
    function statusClass(s) { return s === "UP" ? "up" : s === "DOWN" ? "down" : (s === "DRAIN" || s === "MAINT") ? "warn" : "excl"; }

    function summary(d) {
      var out, c = d.cluster;
      if (c) {
        var zk = "ZooKeeper " + esc(c.zookeeper_session), l = c.leader;
        if (l) {
          var cls = !l.confirmed ? "warn" : (c.zookeeper_session === "connected" ? "ok" : "warn");
          out = '<div class="banner ' + cls + '"><div class="big">Leader <span class="leader-name">' + esc(l.name) + "</span></div>";
          out += "<div>" + (l.confirmed ? "confirmed" : "not confirmed yet") + " · since " + when(l.since, d.generated_at);
          out += " · generation " + c.generation + " · " + zk + "</div></div>";
        } else {
          out = '<div class="banner bad"><div class="big">No leader</div>';
          out += "<div>generation " + c.generation + " · " + zk + "</div></div>";
        }
      } else {
        out = '<div class="banner ok"><div class="big">Static listeners</div><div>no cluster configured</div></div>';
      }
      out += '<div class="chips">';
      d.listeners.forEach(function (l) {
        var text = l.name + ": " + l.route.state;
        if (l.route.servers.length) { text += " → " + l.route.servers.join(", "); }
        if (l.route.reason !== null) { text += " — " + l.route.reason; }
        out += chip(routeClass(l.route.state), text);
      });
      return out + "</div>";
    }
    function listeners(d) {
      if (!d.listeners.length) { return '<p class="muted">No listeners.</p>'; }
      var labels = ["Listener", "Bind", "Role", "Route", "Sessions", "Total", "Held", "Queued", "Sessions/s",
        "In", "Out", "In/s", "Out/s", "Conn. errors", "Retries", "Stale closed", "Refused", "Cancels"];
      return table(labels, d.listeners.map(function (l) {
        var route = chip(routeClass(l.route.state), l.route.state), s = l.sessions;
        if (l.paused) { route += " " + chip("warn", "paused"); }
        if (l.route.servers.length) { route += " → " + esc(l.route.servers.join(", ")); }
        if (l.route.reason !== null) { route += '<div class="reason">' + esc(l.route.reason) + "</div>"; }
        return ["", [["", "<b>" + esc(l.name) + "</b>"], ["", esc(l.bind)], ["", esc(l.role)], ["", route],
          ["n", s.max !== null ? s.current + " / " + s.max : String(s.current)], ["n", String(s.total)],
          ["n", String(l.held)], ["n", String(l.queued)], ["n", tenths(s.per_second)],
          ["n", bytes(l.bytes_in)], ["n", bytes(l.bytes_out)],
          ["n", bytes(l.bytes_in_per_second) + "/s"], ["n", bytes(l.bytes_out_per_second) + "/s"],
          ["n", String(l.connect_errors)], ["n", String(l.retries)], ["n", String(l.stale_sessions_closed)],
          ["n", String(l.sessions_refused)], ["n", String(l.cancel_requests_forwarded)]]];
      }));
    }
    function members(d) {
      if (!d.members.length) { return '<p class="muted">No members.</p>'; }
      var labels = ["Member", "Address", "Role", "State", "Timeline", "Lag", "Tags", "Status", "Changed",
        "Sessions", "Total", "In", "Out", "Checks"];
      return table(labels, d.members.map(function (m) {
        var name = "<b>" + esc(m.name) + "</b>";
        if (m.leader) { name += " " + chip("leader", "leader"); }
        if (m.listener !== null) { name += '<div class="reason">static · ' + esc(m.listener) + "</div>"; }
        var status = chip(statusClass(m.status), m.status);
        if (m.admin_state !== "ready") { status += " " + chip("warn", "admin: " + m.admin_state); }
        if (m.status_reason !== null) { status += '<div class="reason">' + esc(m.status_reason) + "</div>"; }
        var changed = m.last_status_change === null ? NONE :
          '<span title="' + utc(m.last_status_change) + '">' + ago(m.last_status_change, d.generated_at) + "</span>";
        var checks = !m.checks.length ? NONE : m.checks.map(function (c) {
          return chip(c.ok ? "up" : "down", c.name) + (c.detail ? " " + esc(c.detail) : "");
        }).join("<br>");
        return [m.leader ? "leader" : "", [["", name], ["", opt(m.address)], ["", opt(m.role)], ["", opt(m.state)],
          ["n", m.timeline !== null ? String(m.timeline) : NONE], ["n", m.lag_bytes !== null ? bytes(m.lag_bytes) : NONE],
          ["", m.tags.length ? m.tags.map(function (t) { return chip("tag", t); }).join(" ") : NONE],
          ["", status], ["", changed], ["n", String(m.sessions.current)], ["n", String(m.sessions.total)],
          ["n", bytes(m.bytes_in)], ["n", bytes(m.bytes_out)], ["", checks]]];
      }));
    }
    function events(d) {
      if (!d.events.length) { return '<p class="muted">No events yet.</p>'; }
      var out = '<ol class="events">';
      d.events.forEach(function (e) {
        out += '<li class="' + esc(e.kind) + '">' + when(e.time, d.generated_at) + " ";
        out += '<span class="kind">' + esc(e.kind) + "</span> " + esc(e.message);
        var c = e.leader_change;
        if (c) {
          out += '<div class="detail">' + esc(c.old_leader !== null ? c.old_leader : "none") + " → " + esc(c.new_leader !== null ? c.new_leader : "none");
          out += " · generation " + c.generation + " · " + c.sessions_closed + " sessions closed · ";
          out += c.time_to_confirmation !== null ? "confirmed in " + dur(c.time_to_confirmation) : "not confirmed";
          out += "</div>";
        }
        out += "</li>";
      });
      return out + "</ol>";
    }
    function cluster(d) {
      var c = d.cluster;
      if (!c) { return '<p class="muted">No cluster configured: static listeners only.</p>'; }
      var leader = chip("down", "none"), l = c.leader;
      if (l) {
        leader = '<span class="leader-name">' + esc(l.name) + "</span> " + (l.confirmed ? chip("up", "confirmed") : chip("warn", "not confirmed"));
        leader += " since " + when(l.since, d.generated_at);
      }
      return kv([["Scope", esc(c.scope)], ["Namespace", esc(c.namespace)], ["ZooKeeper", esc(c.zookeeper_hosts.join(", "))],
        ["Session", chip(sessionClass(c.zookeeper_session), c.zookeeper_session)],
        ["Last event", c.last_event_time !== null ? when(c.last_event_time, d.generated_at) : NONE],
        ["Leader", leader], ["Generation", String(c.generation)], ["Leader changes", String(c.leader_changes_total)],
        ["Connection", c.zookeeper_disconnects_total + " disconnects, " + c.zookeeper_session_expiries_total + " expiries"],
        ["Disagreements", c.leader_disagreements_total + " read-only leader, " + c.split_brains_total + " split brain, " +
          c.dcs_loss_write_cuts_total + " writes cut (on_dcs_loss: " + esc(c.on_dcs_loss) + ")"]]);
    }
    function proc(d) {
      var p = d.process, r = p.last_reload, reload = NONE;
      if (r) { reload = chip(r.ok ? "up" : "down", r.ok ? "applied" : "rejected") + " " + when(r.time, d.generated_at) + " " + esc(r.message); }
      return kv([["Version", esc(p.version)], ["PID", String(p.pid)], ["Threads", String(p.threads)],
        ["Started", when(p.start_time, d.generated_at)], ["Uptime", dur(p.uptime_seconds)], ["Config file", opt(p.config_file)],
        ["Last reload", reload], ["Reloads", p.reloads_total + " (" + p.reload_failures_total + " rejected)"]]);
    }
    function loops(d) {
      if (!d.loops.length) { return '<p class="muted">No event loop reported.</p>'; }
      return table(["Loop", "Heartbeat", "Sessions"], d.loops.map(function (l) {
        return ["", [["n", String(l.id)], ["n", dur(l.heartbeat_age) + " ago"], ["n", String(l.sessions)]]];
      }));
    }
    function sections(d) {
      return [["s-summary", summary(d)], ["s-listeners", listeners(d)], ["s-members", members(d)], ["s-events", events(d)],
        ["s-cluster", cluster(d)], ["s-process", proc(d)], ["s-loops", loops(d)]];
    }

    if (typeof document === "undefined") { globalThis.switchmanSections = sections; return; }
    var ms = Number(document.body.getAttribute("data-refresh-ms")) || 2000;
    var updated = document.getElementById("updated"), last = {}, busy = false;
    function poll() {
      if (busy) { return; }
      busy = true;
      var ctl = typeof AbortController === "function" ? new AbortController() : null;
      var timer = ctl ? setTimeout(function () { ctl.abort(); }, Math.max(ms, 5000)) : 0;
      fetch("stats.json", {cache: "no-store", credentials: "same-origin", signal: ctl ? ctl.signal : undefined})
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (d) {
          sections(d).forEach(function (s) {
            var el = document.getElementById(s[0]);
            if (el && last[s[0]] !== s[1]) { el.innerHTML = s[1]; last[s[0]] = s[1]; }
          });
          document.getElementById("version").textContent = d.process.version;
          document.title = d.cluster ? "Switchman · " + d.cluster.scope : "Switchman";
          updated.className = "muted";
          updated.textContent = "updated " + utc(d.generated_at) + " · every " + (ms / 1000) + " s";
          var ledger = document.getElementById("s-ledger");
          if (ledger) {
            return fetch("ledger.html", {cache: "no-store", credentials: "same-origin", signal: ctl ? ctl.signal : undefined})
              .then(function (r) { return r.ok ? r.text() : null; })
              .then(function (html) { if (html !== null && last["s-ledger"] !== html) { ledger.innerHTML = html; last["s-ledger"] = html; } });
          }
        })
        .catch(function (e) {
          updated.className = "stale";
          updated.textContent = "update failed (" + (e && e.message ? e.message : "error") + "), showing older data";
        })
        .then(function () { clearTimeout(timer); busy = false; });
    }
    setInterval(poll, ms);
    }());
    """#
}
