#!/usr/bin/python3
"""One failover measurement for bench/failover.sh, and the table of several.

  failover.py run --env CLUSTER_ENV --local-cluster SCRIPT --scenario stop|kill|switchover
                  --proxy NAME=HOST:PORT [--proxy ...] --out RESULT.json [--stats-url URL]
  failover.py report RESULT.json... > table.md

`run`: a writer per proxy commits one row every 50 ms (unique id, autocommit, reconnecting after any
error) while the leader is stopped (SIGTERM of its Patroni), crashed (SIGKILL of Patroni and the
postmaster) or switched over. Beside them, a kazoo watch times the new `leader` znode and a direct
connection to the other node polls `pg_is_in_recovery()` every 10 ms to time the promotion. Every
time is measured from the moment the stop/kill/switchover is issued. Afterwards every acknowledged
id is looked up on the new leader: the ones missing are lost writes.

Debian's /usr/bin/python3 has psycopg2 and kazoo (Patroni's dependencies). Every wait is bounded.
"""
import argparse
import json
import logging
import statistics
import subprocess
import sys
import threading
import time

import psycopg2
import psycopg2.errorcodes
from kazoo.client import KazooClient

# kazoo logs every reconnect at WARNING on stderr; the measurements do not need it
logging.getLogger("kazoo").setLevel(logging.CRITICAL)

WRITE_INTERVAL = 0.05
TABLE = "bench_failover"


def load_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


def dsn(host, port, env, connect_timeout):
    return (f"host={host} port={port} user={env['PGUSER']} password={env['PGPASSWORD']} dbname=postgres "
            f"connect_timeout={connect_timeout} options='-c statement_timeout=5000' application_name=failover-bench")


class Writer(threading.Thread):
    """Commits a row every 50 ms through one proxy; records every attempt."""

    def __init__(self, index, name, host, port, env):
        super().__init__(daemon=True)
        self.index, self.name, self.host, self.port, self.env = index, name, host, port, env
        self.attempts = []  # dicts: t (issued), done, id, ok, server_port, kind, sqlstate, message
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def acks(self):
        with self.lock:
            return [a for a in self.attempts if a["ok"]]

    def record(self, **attempt):
        with self.lock:
            self.attempts.append(attempt)

    def run(self):
        conn, seq = None, 0
        next_tick = time.time()
        while not self.stopping.is_set():
            seq += 1
            row_id = (self.index + 1) * 1_000_000_000 + seq
            t = time.time()
            if conn is None:
                try:
                    # a held connection (Switchman during a failover) may wait up to hold_timeout (30 s)
                    conn = psycopg2.connect(dsn(self.host, self.port, self.env, 35))
                    conn.autocommit = True
                except psycopg2.Error as e:
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
                    kind = "shutting_down" if "shutting down" in msg else "connect"
                    self.record(t=t, done=time.time(), id=row_id, ok=False, server_port=None, kind=kind,
                                sqlstate=getattr(e, "pgcode", None), message=msg)
                    conn = None
                    next_tick = max(next_tick + WRITE_INTERVAL, time.time())
                    self.stopping.wait(max(0.0, next_tick - time.time()))
                    continue
            try:
                with conn.cursor() as cur:
                    cur.execute(f"insert into {TABLE}(id, proxy, t) values (%s, %s, %s) returning inet_server_port()",
                                (row_id, self.name, t))
                    port = cur.fetchone()[0]
                self.record(t=t, done=time.time(), id=row_id, ok=True, server_port=port, kind="ack",
                            sqlstate=None, message=None)
            except psycopg2.Error as e:
                code = getattr(e, "pgcode", None)
                msg = (str(e).strip().splitlines() or [repr(e)])[0]
                if code == psycopg2.errorcodes.READ_ONLY_SQL_TRANSACTION:
                    kind = "read_only"
                elif code is None or conn.closed:
                    kind = "lost"
                else:
                    kind = "statement"
                self.record(t=t, done=time.time(), id=row_id, ok=False, server_port=None, kind=kind,
                            sqlstate=code, message=msg)
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
                conn = None
            next_tick = max(next_tick + WRITE_INTERVAL, time.time())
            self.stopping.wait(max(0.0, next_tick - time.time()))
        if conn is not None:
            conn.close()


class PromotionPoller(threading.Thread):
    """Polls `pg_is_in_recovery()` on one node every 10 ms; notes the first `false` after `armed`."""

    def __init__(self, port, env):
        super().__init__(daemon=True)
        self.port, self.env = port, env
        self.armed_at = None
        self.promoted_at = None
        self.stopping = threading.Event()

    def run(self):
        conn = None
        while not self.stopping.is_set() and self.promoted_at is None:
            try:
                if conn is None:
                    conn = psycopg2.connect(dsn("127.0.0.1", self.port, self.env, 2))
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("select pg_is_in_recovery()")
                    in_recovery = cur.fetchone()[0]
                now = time.time()
                if self.armed_at is not None and not in_recovery:
                    self.promoted_at = now
            except psycopg2.Error:
                if conn is not None:
                    try:
                        conn.close()
                    except psycopg2.Error:
                        pass
                conn = None
            self.stopping.wait(0.01)
        if conn is not None:
            conn.close()


def wait_for(what, timeout, predicate, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    print(f"failover.py: timed out after {timeout}s waiting for {what}", file=sys.stderr)
    return False


def stats_json(url):
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def cmd_run(args):
    env = load_env(args.env)
    cluster_dir = env["CLUSTER_DIR"]
    nodes = {env[f"NODE{n}_NAME"]: (n, int(env[f"NODE{n}_PG_PORT"])) for n in (1, 2)}
    leader_path = f"{env['NAMESPACE']}/{env['SCOPE']}/leader"

    zk = KazooClient(hosts=env["ZK_HOSTS"], timeout=5.0)
    zk.start(timeout=15)
    old_leader = zk.get(leader_path)[0].decode()
    new_leader = next(n for n in nodes if n != old_leader)
    old_port, new_port = nodes[old_leader][1], nodes[new_leader][1]

    leader_changes = []  # (time, leader name or None)

    def on_leader(data, stat, event=None):
        leader_changes.append((time.time(), data.decode() if data is not None else None))
    zk.DataWatch(leader_path, on_leader)

    setup = psycopg2.connect(dsn("127.0.0.1", old_port, env, 5))
    setup.autocommit = True
    with setup.cursor() as cur:
        cur.execute(f"create table if not exists {TABLE}(id bigint primary key, proxy text, t double precision)")
        cur.execute(f"truncate {TABLE}")
    setup.close()

    writers = []
    for i, spec in enumerate(args.proxy):
        name, hostport = spec.split("=", 1)
        host, port = hostport.rsplit(":", 1)
        writers.append(Writer(i, name, host, int(port), env))
    poller = PromotionPoller(new_port, env)
    poller.start()
    for w in writers:
        w.start()
    # warm up: every writer commits on the old leader
    ok = wait_for("every writer to commit on the old leader", 30,
                  lambda: all(sum(1 for a in w.acks() if a["server_port"] == old_port) >= 10 for w in writers))
    if not ok:
        for w in writers:
            print(f"  {w.name}: last attempts {w.attempts[-3:]}", file=sys.stderr)
        return 1

    node = str(nodes[old_leader][0])
    action = {"stop": ["stop-node", cluster_dir, node], "kill": ["kill-node", cluster_dir, node],
              "switchover": ["switchover", cluster_dir, new_leader]}[args.scenario]
    poller.armed_at = t0 = time.time()
    proc = subprocess.Popen([args.local_cluster] + action, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def new_leader_seen():
        return any(name == new_leader for _, name in leader_changes)

    def all_back():
        return all(any(a["server_port"] == new_port and a["t"] >= t0 for a in w.acks()) for w in writers)
    wait_for("the new leader znode", 90, new_leader_seen)
    wait_for("a write on the new leader through every proxy", 90, all_back)
    # a few more seconds: HAProxy keeps sending writes to a demoted node until its checks fail
    time.sleep(args.tail)
    for w in writers:
        w.stopping.set()
    poller.stopping.set()
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    for w in writers:
        w.join(timeout=40)
    poller.join(timeout=5)

    t_znode = next((t for t, name in leader_changes if name == new_leader and t >= t0), None)
    t_gone = next((t for t, name in leader_changes if name is None and t >= t0), None)
    check = psycopg2.connect(dsn("127.0.0.1", new_port, env, 5))
    check.autocommit = True
    result = {"scenario": args.scenario, "old_leader": old_leader, "new_leader": new_leader, "t0": t0,
              "action_output": out.strip().splitlines()[-3:],
              "znode_deleted_s": None if t_gone is None else t_gone - t0,
              "znode_s": None if t_znode is None else t_znode - t0,
              "promotion_s": None if poller.promoted_at is None else poller.promoted_at - t0,
              "proxies": []}
    for w in writers:
        attempts = [a for a in w.attempts]
        acked_ids = [a["id"] for a in attempts if a["ok"]]
        with check.cursor() as cur:
            cur.execute(f"select id from {TABLE} where id = any(%s)", (acked_ids,))
            present = {r[0] for r in cur.fetchall()}
        lost = sorted(set(acked_ids) - present)
        after = [a for a in attempts if a["t"] >= t0]
        old_acks = [a for a in after if a["ok"] and a["server_port"] == old_port]
        new_acks = [a for a in after if a["ok"] and a["server_port"] == new_port]
        failures = [a for a in after if not a["ok"]]
        kinds = {}
        for a in failures:
            kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
        first_new = new_acks[0]["done"] - t0 if new_acks else None
        last_old = old_acks[-1]["done"] - t0 if old_acks else None
        # acks on the old leader after the new leader's znode: a write that reached a node no longer leader
        stale = [a for a in old_acks if t_znode is not None and a["t"] > t_znode]
        # failures once writes flowed on the new leader: a session to the new leader closed under the writer
        late = [a for a in failures if new_acks and a["t"] > new_acks[0]["done"]]
        result["proxies"].append({
            "name": w.name, "attempts": len(after), "acked": len(acked_ids), "failed": len(failures),
            "failure_kinds": kinds, "read_only": kinds.get("read_only", 0), "lost": len(lost),
            "lost_ids": lost[:20], "first_write_new_s": first_new, "last_write_old_s": last_old,
            "acks_on_old_after_znode": len(stale), "failed_after_first_new": len(late),
            "failure_examples": sorted({a["message"] for a in failures if a["message"]})[:6],
        })
    check.close()
    zk.stop()
    zk.close()
    if args.stats_url:
        snap = stats_json(args.stats_url)
        if snap:
            ev = next((e for e in snap.get("events", []) if e.get("kind") == "leader_change"
                       and (e.get("leader_change") or {}).get("new_leader") == new_leader), None)
            if ev:
                result["switchman_time_to_confirmation_s"] = ev["leader_change"].get("time_to_confirmation")
                result["switchman_sessions_closed"] = ev["leader_change"].get("sessions_closed")
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(summary(result))
    return 0


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def summary(r):
    lines = [f"{r['scenario']}: {r['old_leader']} -> {r['new_leader']}; leader znode at {fmt(r['znode_s'])} s, "
             f"promotion at {fmt(r['promotion_s'])} s"]
    for p in r["proxies"]:
        after_promo = None if p["first_write_new_s"] is None or r["promotion_s"] is None else p["first_write_new_s"] - r["promotion_s"]
        lines.append(f"  {p['name']}: first write on the new leader at {fmt(p['first_write_new_s'])} s "
                     f"({fmt(after_promo, 3)} s after the promotion); failed {p['failed']} {p['failure_kinds']}; "
                     f"read-only {p['read_only']}; lost {p['lost']}")
    return "\n".join(lines)


def cmd_report(args):
    results = []
    for path in args.results:
        with open(path) as f:
            results.append(json.load(f))
    def after_promotion(r, p):
        if p["first_write_new_s"] is None or r["promotion_s"] is None:
            return None
        return p["first_write_new_s"] - r["promotion_s"]

    # summary: median over the runs of each scenario, totals of the failures
    groups = {}
    for r in results:
        for p in r["proxies"]:
            groups.setdefault((r["scenario"], p["name"]), []).append((r, p))
    print("Summary (median over the runs; failures and losses summed):")
    print()
    print("| scenario | proxy | runs | leader znode (s) | promotion (s) | first write on new leader (s) "
          "| after promotion (s) | writes on a read-only node | lost acknowledged writes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (scenario, proxy), rows in groups.items():
        def med(values):
            values = sorted(v for v in values if v is not None)
            return statistics.median(values) if values else None
        print(f"| {scenario} | {proxy} | {len(rows)} | {fmt(med(r['znode_s'] for r, _ in rows))} "
              f"| {fmt(med(r['promotion_s'] for r, _ in rows))} | {fmt(med(p['first_write_new_s'] for _, p in rows))} "
              f"| {fmt(med(after_promotion(r, p) for r, p in rows), 3)} | {sum(p['read_only'] for _, p in rows)} "
              f"| {sum(p['lost'] for _, p in rows)} |")
    print()
    print("Every run:")
    print()
    print("| scenario | proxy | leader znode (s) | promotion (s) | first write on new leader (s) | after promotion (s) "
          "| failed attempts | of them after the first write on the new leader | writes on a read-only node | lost acknowledged writes |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in results:
        for p in r["proxies"]:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(p["failure_kinds"].items()))
            failed = f"{p['failed']}" + (f" ({kinds})" if kinds else "")
            print(f"| {r['scenario']} | {p['name']} | {fmt(r['znode_s'])} | {fmt(r['promotion_s'])} "
                  f"| {fmt(p['first_write_new_s'])} | {fmt(after_promotion(r, p), 3)} | {failed} "
                  f"| {p.get('failed_after_first_new', '–')} | {p['read_only']} | {p['lost']} |")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--env", required=True)
    r.add_argument("--local-cluster", required=True)
    r.add_argument("--scenario", required=True, choices=["stop", "kill", "switchover"])
    r.add_argument("--proxy", action="append", required=True, help="NAME=HOST:PORT")
    r.add_argument("--out", required=True)
    r.add_argument("--stats-url")
    r.add_argument("--tail", type=float, default=4.0, help="seconds to keep writing after every proxy is back")
    r.set_defaults(func=cmd_run)
    rep = sub.add_parser("report")
    rep.add_argument("results", nargs="+")
    rep.set_defaults(func=cmd_report)
    args = p.parse_args()
    sys.exit(args.func(args))


if __name__ == "__main__":
    main()
