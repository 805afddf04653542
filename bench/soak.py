#!/usr/bin/python3
"""The soak run of bench/soak.sh: load through Switchman while the cluster fails over and Switchman reloads.

  soak.py run --env CLUSTER_ENV --local-cluster SCRIPT --pid SWITCHMAN_PID --config CONF
              --configs A.yml,B.yml --write HOST:PORT --read HOST:PORT --stats URL
              --seconds N [--switchover-every 60] [--kill-at T] [--reload-every 10] --out RESULT.json
  soak.py report RESULT.json > table.md

`run`, for N seconds (every loop and wait bounded by it):
- a writer commits a row every 50 ms through the write port (bench/failover.py's Writer: unique id,
  autocommit, reconnecting after any error); pgbench runs in 10 s chunks through the write port with a
  new connection per transaction (-C, a select of one row) and through the read port (-S);
- every `--switchover-every` s a Patroni switchover; once, at `--kill-at` s, the leader is killed
  (SIGKILL of its Patroni and postmaster) and started again once a new leader took over;
- every `--reload-every` s (offset by half a period from the failovers) the configuration file is
  replaced by the next of `--configs` and Switchman gets a SIGHUP. Two sentinel sessions per port are
  opened just before and queried just after each reload: one that fails is a session dropped by the
  reload, unless a route changed meanwhile (a leader change, a replica leaving: counted apart);
- every 10 s Switchman's VmRSS, open descriptors and CPU time are sampled from /proc.
At the end every acknowledged id is looked up on the leader. The verdict fails on: a lost write, a
write that reached a read-only node through the write port, a session dropped by a reload, Switchman
not running at the end, or RSS / descriptors at the end more than 10 % (and 4 MB / 16 fds) above the
first sample taken with the load running.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import TABLE, Writer, dsn, load_env  # noqa: E402

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def stats(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return json.load(answer)
    except (OSError, ValueError):
        return None


def route_changes(url):
    """What, besides a reload, may end a session: leader changes and each listener's route and closes."""
    document = stats(url) or {}
    picture = {"leader_changes": (document.get("cluster") or {}).get("leader_changes_total")}
    for listener in document.get("listeners", []):
        if listener["name"] in ("primary", "replicas"):  # the sentinels' listeners; `fresh` comes and goes
            picture[listener["name"]] = (listener["route"]["servers"], listener.get("stale_sessions_closed"))
    return picture


def leader_name(url):
    document = stats(url) or {}
    leader = (document.get("cluster") or {}).get("leader") or {}
    return leader.get("name") if leader.get("confirmed") else None


def sample(pid):
    """VmRSS (bytes), open descriptors and CPU seconds (user + system) of `pid`."""
    rss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return rss, fds, cpu


class PgbenchLoop(threading.Thread):
    """pgbench in 10 s chunks until the deadline; sums transactions and counts failed chunks."""

    def __init__(self, name, host, port, env, args, deadline):
        super().__init__(daemon=True)
        self.name, self.host, self.port, self.env, self.args, self.deadline = name, host, port, env, args, deadline
        self.transactions, self.chunks, self.failed_chunks, self.last_error = 0, 0, 0, None

    def run(self):
        environment = dict(os.environ, PGPASSWORD=self.env["PGPASSWORD"], PGCONNECT_TIMEOUT="35")
        while True:
            left = self.deadline - time.time()
            if left < 2:
                return
            chunk = min(10, int(left) - 1)
            command = ["pgbench", "-n", "-h", self.host, "-p", str(self.port), "-U", self.env["PGUSER"],
                       "-T", str(chunk), *self.args, "postgres"]
            try:
                done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=chunk + 60)
            except subprocess.TimeoutExpired:
                self.chunks += 1
                self.failed_chunks += 1
                self.last_error = "pgbench did not finish"
                continue
            self.chunks += 1
            for line in done.stdout.splitlines():
                if line.startswith("number of transactions actually processed:"):
                    self.transactions += int(line.split(":")[1].split("/")[0])
            if done.returncode != 0:
                self.failed_chunks += 1
                lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
                self.last_error = lines[-1] if lines else f"exit {done.returncode}"
                time.sleep(0.5)


def reload_once(args, env, index, write, read):
    """Sentinels on both ports, the next configuration and a SIGHUP, the sentinels again."""
    before = route_changes(args.stats)
    sentinels = []
    for port_name, (host, port) in (("write", write), ("read", read)):
        for _ in range(2):
            try:
                conn = psycopg2.connect(dsn(host, port, env, 5))
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("select 1")
                sentinels.append((port_name, conn))
            except psycopg2.Error:
                pass  # not open before the reload: not the reload's doing
    configs = args.configs.split(",")
    shutil.copyfile(configs[index % len(configs)], args.config + ".new")
    os.replace(args.config + ".new", args.config)
    os.kill(args.pid, signal.SIGHUP)
    time.sleep(1.5)
    dropped, errors = 0, []
    for port_name, conn in sentinels:
        try:
            with conn.cursor() as cur:
                cur.execute("select 1")
        except psycopg2.Error as e:
            dropped += 1
            errors.append(f"{port_name}: {(str(e).strip().splitlines() or [repr(e)])[0]}")
        finally:
            conn.close()
    overlapped = route_changes(args.stats) != before
    return {"t": time.time(), "config": os.path.basename(configs[index % len(configs)]), "sentinels": len(sentinels),
            "dropped": dropped, "route_changed": overlapped, "errors": errors}


def failover(args, kill, log):
    """A switchover, or a kill of the leader and its restart; waits until writes are routed again."""
    started = time.time()
    old = leader_name(args.stats)
    if kill and old:
        subprocess.run([args.local_cluster, "kill-node", args.cluster_dir, old.removeprefix("node")],
                       check=False, capture_output=True, timeout=60)
    else:
        subprocess.run([args.local_cluster, "switchover", args.cluster_dir], check=False, capture_output=True, timeout=60)
    new = None
    deadline = time.time() + 60
    while time.time() < deadline:
        new = leader_name(args.stats)
        if new and new != old:
            break
        time.sleep(0.2)
    took = time.time() - started
    if kill and old:
        subprocess.run([args.local_cluster, "start-node", args.cluster_dir, old.removeprefix("node")],
                       check=False, capture_output=True, timeout=60)
    log.append({"t": started, "kind": "kill" if kill else "switchover", "old": old, "new": new,
                "routed_after": round(took, 3) if new and new != old else None})


def cmd_run(args):
    env = load_env(args.env)
    args.cluster_dir = os.path.dirname(os.path.abspath(args.env))
    write, read = hostport(args.write), hostport(args.read)
    start = time.time()
    deadline = start + args.seconds

    leader_port = None
    for n in ("1", "2"):
        if leader_name(args.stats) == env[f"NODE{n}_NAME"]:
            leader_port = int(env[f"NODE{n}_PG_PORT"])
    if leader_port is None:
        sys.exit("soak: Switchman routes writes to no confirmed leader at the start")
    with psycopg2.connect(dsn("127.0.0.1", leader_port, env, 10)) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"create table if not exists {TABLE}(id bigint primary key, proxy text, t double precision)")
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", str(leader_port), "-U", env["PGUSER"], "postgres"],
                   env=dict(os.environ, PGPASSWORD=env["PGPASSWORD"]), check=True, capture_output=True, timeout=120)

    writer = Writer(7, "switchman", write[0], write[1], env)
    loads = [PgbenchLoop("write -C", write[0], write[1], env, ["-C", "-c", "2", "-j", "1", "-S"], deadline),
             PgbenchLoop("read -S", read[0], read[1], env, ["-c", "4", "-j", "1", "-S"], deadline)]
    writer.start()
    for load in loads:
        load.start()

    samples, reloads, failovers = [], [], []
    next_sample = start
    next_reload = start + args.reload_every / 2
    next_failover = start + args.switchover_every
    killed = args.kill_at is None
    reload_index = 1  # the first configuration is the one Switchman started with
    while time.time() < deadline - 1:
        now = time.time()
        if now >= next_sample:
            try:
                rss, fds, cpu = sample(args.pid)
                samples.append({"t": round(now - start, 1), "rss": rss, "fds": fds, "cpu": round(cpu, 2)})
            except OSError:
                samples.append({"t": round(now - start, 1), "rss": None, "fds": None, "cpu": None})
            next_sample += 10
        elif not killed and now - start >= args.kill_at:
            killed = True
            failover(args, True, failovers)
            next_failover = max(next_failover, time.time() + args.switchover_every / 2)
        elif now >= next_failover:
            failover(args, False, failovers)
            next_failover += args.switchover_every
        elif now >= next_reload:
            reloads.append(reload_once(args, env, reload_index, write, read))
            reload_index += 1
            next_reload += args.reload_every
        else:
            time.sleep(min(0.2, max(0.0, min(next_sample, next_reload, next_failover) - now)))
    writer.stopping.set()
    writer.join(timeout=40)
    for load in loads:
        load.join(timeout=80)

    alive = True
    try:
        os.kill(args.pid, 0)
        samples.append(dict(zip(("rss", "fds", "cpu"), sample(args.pid)), t=round(time.time() - start, 1)))
    except OSError:
        alive = False

    acks = writer.acks()
    missing = []
    final_leader = leader_name(args.stats)
    for n in ("1", "2"):
        if final_leader == env[f"NODE{n}_NAME"]:
            leader_port = int(env[f"NODE{n}_PG_PORT"])
    with psycopg2.connect(dsn("127.0.0.1", leader_port, env, 10)) as conn:
        with conn.cursor() as cur:
            cur.execute(f"select id from {TABLE} where id = any(%s)", ([a["id"] for a in acks],))
            present = {row[0] for row in cur.fetchall()}
    missing = [a["id"] for a in acks if a["id"] not in present]
    with writer.lock:
        attempts = list(writer.attempts)
    failures = {}
    for a in attempts:
        if not a["ok"]:
            failures[a["kind"]] = failures.get(a["kind"], 0) + 1

    result = {
        "seconds": args.seconds, "alive": alive, "writes_acknowledged": len(acks), "writes_missing": len(missing),
        "write_failures": failures, "read_only_writes": failures.get("read_only", 0),
        "pgbench": [{"name": l.name, "transactions": l.transactions, "chunks": l.chunks,
                     "failed_chunks": l.failed_chunks, "last_error": l.last_error} for l in loads],
        "reloads": reloads, "failovers": failovers, "samples": samples,
    }
    result["verdict"] = verdict(result)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("alive", "writes_acknowledged", "writes_missing", "write_failures",
                                             "verdict")}))
    return 0 if not result["verdict"] else 1


def verdict(r):
    """What failed, as sentences; empty when the soak passed."""
    problems = []
    if not r["alive"]:
        problems.append("Switchman was not running at the end")
    if r["writes_missing"]:
        problems.append(f"{r['writes_missing']} acknowledged writes missing on the leader")
    if r["read_only_writes"]:
        problems.append(f"{r['read_only_writes']} writes reached a read-only node through the write port")
    dropped = sum(x["dropped"] for x in r["reloads"] if not x["route_changed"])
    if dropped:
        problems.append(f"{dropped} sessions dropped by a reload")
    if not any(f["new"] and f["new"] != f["old"] for f in r["failovers"]):
        problems.append("no failover happened")
    loaded = [s for s in r["samples"] if s.get("rss") is not None and s["t"] >= 10]
    if len(loaded) >= 2:
        first, last = loaded[0], loaded[-1]
        if last["rss"] > first["rss"] * 1.10 and last["rss"] - first["rss"] > 4 << 20:
            problems.append(f"RSS grew from {first['rss'] >> 10} KiB to {last['rss'] >> 10} KiB")
        if last["fds"] > first["fds"] * 1.10 and last["fds"] - first["fds"] > 16:
            problems.append(f"open descriptors grew from {first['fds']} to {last['fds']}")
    return problems


def cmd_report(args):
    with open(args.result) as f:
        r = json.load(f)
    out = []
    events = []
    for f in r["failovers"]:
        took = f" (writes routed after {f['routed_after']:.1f} s)" if f["routed_after"] is not None else " (no new leader seen)"
        events.append(f"{f['kind']} {f['old']} → {f['new']}{took}")
    out.append(f"{r['seconds']} s: {len(r['failovers'])} failovers: {', '.join(events) or 'none'}; "
               f"{len(r['reloads'])} reloads (SIGHUP); Switchman {'running' if r['alive'] else 'NOT running'} at the end.")
    out.append("")
    failures = ", ".join(f"{v}× {k}" for k, v in sorted(r["write_failures"].items())) or "none"
    out.append(f"- Writer (a row every 50 ms through the write port): {r['writes_acknowledged']} acknowledged, "
               f"{r['writes_missing']} missing afterwards, {r['read_only_writes']} reached a read-only node; failed attempts: {failures}.")
    for p in r["pgbench"]:
        out.append(f"- pgbench {p['name']}: {p['transactions']} transactions in {p['chunks']} chunks of ≤ 10 s, "
                   f"{p['failed_chunks']} chunks ended by an error{' (last: ' + p['last_error'] + ')' if p['last_error'] else ''}.")
    sentinels = sum(x["sentinels"] for x in r["reloads"])
    dropped = sum(x["dropped"] for x in r["reloads"] if not x["route_changed"])
    overlapped = sum(1 for x in r["reloads"] if x["route_changed"])
    out.append(f"- Reloads: {sentinels} sentinel sessions across them, {dropped} dropped by a reload"
               f"{f'; {overlapped} reloads overlapped a route change (a leader change, a replica leaving or joining) and are not counted' if overlapped else ''}.")
    out.append(f"- Verdict: {'passed' if not r['verdict'] else 'FAILED: ' + '; '.join(r['verdict'])}.")
    out.append("")
    out.append("| t (s) | RSS (KiB) | open fds | CPU (s) |")
    out.append("|---:|---:|---:|---:|")
    for s in r["samples"]:
        if s.get("rss") is None:
            out.append(f"| {s['t']:.0f} | – | – | – |")
        else:
            out.append(f"| {s['t']:.0f} | {s['rss'] >> 10:,} | {s['fds']} | {s['cpu']:.1f} |")
    rss = [s["rss"] for s in r["samples"] if s.get("rss")]
    if rss:
        low, high = min(rss), max(rss)
        bars = "▁▂▃▄▅▆▇█"
        line = "".join(bars[min(7, int((v - low) * 8 / (high - low + 1)))] for v in rss)
        out.append("")
        out.append(f"RSS over the run, {low >> 10:,}–{high >> 10:,} KiB: `{line}`")
    print("\n".join(out))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--env", required=True)
    run.add_argument("--local-cluster", required=True)
    run.add_argument("--pid", type=int, required=True)
    run.add_argument("--config", required=True)
    run.add_argument("--configs", required=True)
    run.add_argument("--write", required=True)
    run.add_argument("--read", required=True)
    run.add_argument("--stats", required=True)
    run.add_argument("--seconds", type=int, required=True)
    run.add_argument("--switchover-every", type=float, default=60)
    run.add_argument("--kill-at", type=float)
    run.add_argument("--reload-every", type=float, default=10)
    run.add_argument("--out", required=True)
    report = sub.add_parser("report")
    report.add_argument("result")
    args = parser.parse_args()
    sys.exit(cmd_run(args) if args.command == "run" else cmd_report(args))


if __name__ == "__main__":
    main()
