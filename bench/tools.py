#!/usr/bin/env python3
"""Helpers for bench/run.sh: free ports, output parsers, and the report.

  tools.py ports N                      N free TCP ports on 127.0.0.1 (outside the ephemeral range)
  tools.py pgbench-p99 FILE...          p99 latency in ms over pgbench -l per-transaction logs
  tools.py pgbench-percentiles FILE...  "p50 p99" latency in ms over the same logs
  tools.py iperf-gbps FILE              received Gbit/s from iperf3 -J output
  tools.py perf-stat FILE REQUESTS      syscall counts per request from perf stat -x, output
  tools.py strace-c FILE REQUESTS       the same from strace -c -f output
  tools.py report RESULTS META OUT|-    median table on stdout; markdown into OUT between markers

RESULTS is a TSV written by run.sh: bench, target, round, metric, value (one line per measurement).
META is a TSV of key, value lines (date, machine, versions, settings).
"""
import json
import os
import random
import re
import socket
import statistics
import sys

# ---------------------------------------------------------------------------------------------
# small helpers used while the benchmark runs


def ports(count: int) -> None:
    """Prints `count` distinct ports that can be bound on 127.0.0.1 right now.

    They are drawn from 20000-32767, below Linux's default ephemeral range (32768-60999), so the
    many outgoing connections of the connection-rate test cannot take them in the meantime.
    """
    chosen: list[int] = []
    rng = random.Random()
    for _ in range(10_000):
        if len(chosen) == count:
            break
        port = rng.randint(20000, 32767)
        if port in chosen:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
    if len(chosen) < count:
        sys.exit("no free ports")
    print(" ".join(map(str, chosen)))


def pgbench_latencies(files: list[str]) -> list[int]:
    """pgbench -l lines: client_id transaction_no time_us script_no epoch epoch_us [schedule_lag_us]."""
    latencies: list[int] = []
    for name in files:
        with open(name) as log:
            for line in log:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]))
    if not latencies:
        sys.exit("no pgbench log lines")
    latencies.sort()
    return latencies


def percentile_ms(sorted_us: list[int], fraction: float) -> str:
    index = max(0, int(round(fraction * len(sorted_us))) - 1)
    return f"{sorted_us[index] / 1000:.3f}"


def pgbench_p99(files: list[str]) -> None:
    print(percentile_ms(pgbench_latencies(files), 0.99))


def pgbench_percentiles(files: list[str]) -> None:
    latencies = pgbench_latencies(files)
    print(percentile_ms(latencies, 0.50), percentile_ms(latencies, 0.99))


def iperf_gbps(name: str) -> None:
    with open(name) as output:
        result = json.load(output)
    if "error" in result:
        sys.exit(f"iperf3: {result['error']}")
    print(f"{result['end']['sum_received']['bits_per_second'] / 1e9:.3f}")


def per_request(counts: dict[str, float], requests: float) -> None:
    for name, count in sorted(counts.items()):
        print(f"{name}\t{count / requests:.4f}")


def perf_stat(name: str, requests: str) -> None:
    """perf stat -x, lines: value,unit,event,... (value may be '<not counted>')."""
    counts: dict[str, float] = {}
    with open(name) as output:
        for line in output:
            fields = line.strip().split(",")
            if len(fields) < 3 or not fields[0].replace(".", "").isdigit():
                continue
            event = fields[2]
            if event == "raw_syscalls:sys_enter":
                counts["all"] = float(fields[0])
            elif event.startswith("syscalls:sys_enter_"):
                counts[event.removeprefix("syscalls:sys_enter_")] = float(fields[0])
    per_request(counts, float(requests))


def strace_c(name: str, requests: str) -> None:
    """strace -c table: % time, seconds, usecs/call, calls, [errors], syscall."""
    counts: dict[str, float] = {}
    with open(name) as output:
        for line in output:
            fields = line.split()
            if len(fields) >= 5 and re.fullmatch(r"[\d.]+", fields[0]) and fields[-1] != "total":
                counts[fields[-1]] = float(fields[3])
    counts["all"] = sum(counts.values())
    per_request(counts, float(requests))


# ---------------------------------------------------------------------------------------------
# the report

TARGETS = ["direct", "switchman", "haproxy"]
CPU_TARGETS = ["direct", "switchman", "haproxy"]
BULK_TARGETS = ["direct", "switchman", "switchman-splice-on", "switchman-splice-off", "haproxy"]
LABEL = {
    "direct": "direct",
    "switchman": "Switchman",
    "switchman-splice-on": "Switchman splice:on",
    "switchman-splice-off": "Switchman splice:off",
    "haproxy": "HAProxy",
}

# (bench, metric, title, unit, higher is better)
ROWS = [
    ("pgbench8", "tps", "pgbench -S, 8 clients", "TPS", True),
    ("pgbench8", "lat_avg_ms", "pgbench -S, 8 clients", "avg latency ms", False),
    ("pgbench8", "lat_p99_ms", "pgbench -S, 8 clients", "p99 latency ms", False),
    ("pgbench64", "tps", "pgbench -S, 64 clients", "TPS", True),
    ("pgbench64", "lat_avg_ms", "pgbench -S, 64 clients", "avg latency ms", False),
    ("pgbench64", "lat_p99_ms", "pgbench -S, 64 clients", "p99 latency ms", False),
    ("pgconnect", "tps", "PostgreSQL connection per transaction (pgbench -S -C -c 8)", "connections/s", True),
    ("pgconnect", "time_waits_per_conn", "PostgreSQL connection per transaction (pgbench -S -C -c 8)",
     "TIME_WAITs toward PostgreSQL per connection", False),
    ("keepalive", "rps", "HTTP keep-alive (wrk -t2 -c64)", "requests/s", True),
    ("keepalive", "lat_avg_ms", "HTTP keep-alive (wrk -t2 -c64)", "avg latency ms", False),
    ("connclose", "rps", "new connection per request (wrk, Connection: close)", "connections/s", True),
    ("bulk1", "gbps", "bulk, iperf3 1 stream", "Gbit/s", True),
    ("bulk4", "gbps", "bulk, iperf3 4 streams", "Gbit/s", True),
]

# (label, bench, metric, minimum Switchman/HAProxy ratio; the HAProxy/direct range the issue measured)
GOALS = [
    ("small requests (keep-alive)", "keepalive", "rps", 1.05, "0.48–0.54"),
    ("pgbench -S, 8 clients (TPS)", "pgbench8", "tps", 1.05, "0.66–0.79"),
    ("pgbench -S, 64 clients (TPS)", "pgbench64", "tps", 1.05, "0.66–0.79"),
    ("connection rate", "connclose", "rps", 1.00, "0.58"),
    ("bulk, 1 stream (splice: auto)", "bulk1", "gbps", 2.00, "0.29–0.37"),
    ("bulk, 4 streams (splice: auto)", "bulk4", "gbps", 2.00, "0.29–0.37"),
]

RSS_LIMIT = 800  # bytes per idle pair (issue 13; it was 1,024 before)
SYSCALLS = ["read", "write", "recvfrom", "sendto", "readv", "writev", "recvmsg", "sendmsg", "splice",
            "epoll_wait", "epoll_pwait", "epoll_ctl", "accept4", "connect", "socket", "close", "shutdown",
            "setsockopt", "getsockopt", "fcntl", "pipe2", "futex", "all"]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def load_rounds(results: str) -> dict:
    """{(bench, target, metric): {round: value}}: the runs of one round ran back to back."""
    table: dict = {}
    with open(results) as source:
        for line in source:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 5:
                continue
            bench, target, round_, metric, value = fields
            try:
                table.setdefault((bench, target, metric), {})[round_] = float(value)
            except ValueError:
                continue
    return table


def spread(values) -> str:
    """'median (min–max)', or the one value; noise is shown, not hidden behind the median."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def per_round(rounds: dict, bench: str, a: str, b: str, metric: str, op) -> list[float]:
    """op(a's value, b's value) for every round where both ran."""
    first, second = rounds.get((bench, a, metric), {}), rounds.get((bench, b, metric), {})
    return [op(first[r], second[r]) for r in sorted(first) if r in second and op(first[r], second[r]) is not None]


def divide(x, y):
    return x / y if y else None


def subtract(x, y):
    return x - y


def ratio_spread(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def judge(values: list[float], goal: float, at_most: bool) -> str:
    """Met in every round, in the median only, or missed (by how much, from the median)."""
    if not values:
        return "–"
    ok = [(v <= goal) if at_most else (v >= goal) for v in values]
    middle = statistics.median(values)
    if all(ok):
        return "met"
    if (middle <= goal) if at_most else (middle >= goal):
        return f"met in the median ({sum(ok)} of {len(ok)} rounds)"
    miss = (middle - goal) / goal if at_most else (goal - middle) / goal
    return f"missed by {100 * miss:.0f}% ({sum(ok)} of {len(ok)} rounds met it)"


def median(table: dict, bench: str, target: str, metric: str):
    values = table.get((bench, target, metric))
    return statistics.median(values) if values else None


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.2f}"


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "–"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    out = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(header))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    return out


def report(results: str, meta_file: str, out: str) -> None:
    rounds = load_rounds(results)
    table = {key: list(by_round.values()) for key, by_round in rounds.items()}
    meta: dict[str, str] = {}
    with open(meta_file) as source:
        for line in source:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value

    # main table
    header = ["benchmark", "metric", "direct", "Switchman", "HAProxy", "SW/direct", "HA/direct", "SW/HA",
              "SW/HA per round (min–max)"]
    main_rows = []
    for bench, metric, title, unit, _ in ROWS:
        d, s, h = (median(table, bench, t, metric) for t in TARGETS)
        if d is None and s is None and h is None:
            continue
        rs = per_round(rounds, bench, "switchman", "haproxy", metric, divide)
        span = f"{min(rs):.2f}–{max(rs):.2f}" if len(rs) > 1 else "–"
        main_rows.append([title, unit, fmt(d), fmt(s), fmt(h), ratio(s, d), ratio(h, d), ratio(s, h), span])

    # bulk by splice mode
    bulk_header = ["bulk (iperf3)"] + [LABEL[t] for t in BULK_TARGETS] + ["on/HA", "off/HA"]
    bulk_rows = []
    for bench, title in (("bulk1", "1 stream, Gbit/s"), ("bulk4", "4 streams, Gbit/s")):
        values = [median(table, bench, t, "gbps") for t in BULK_TARGETS]
        if all(v is None for v in values):
            continue
        direct = values[0]
        cells = [f"{fmt(v)} ({ratio(v, direct)})" if t != "direct" else fmt(v)
                 for t, v in zip(BULK_TARGETS, values)]
        haproxy = values[-1]
        bulk_rows.append([title] + cells + [ratio(values[2], haproxy), ratio(values[3], haproxy)])

    # RSS per idle pair
    rss_header = ["RSS per idle pair", "Switchman", "HAProxy", "SW/HA"]
    rss_rows = []
    for metric, title in (("idle_bytes_per_pair", "connected, no data yet (bytes)"),
                          ("exchanged_bytes_per_pair", "after one 16-byte message each way (bytes)"),
                          ("rss_before_kib", "process RSS before (KiB)"),
                          ("rss_exchanged_kib", "process RSS with the pairs (KiB)")):
        s, h = median(table, "rss", "switchman", metric), median(table, "rss", "haproxy", metric)
        if s is None and h is None:
            continue
        rss_rows.append([title, fmt(s), fmt(h), ratio(s, h)])

    # syscalls per request: one row per syscall, one column per proxy and load
    sys_columns = [(bench, target) for bench in ("syscalls-keepalive", "syscalls-connclose")
                   for target in ("switchman", "haproxy")]
    sys_header = ["syscall"] + [f"{LABEL[t]}, {'keep-alive' if 'keep' in b else 'conn. per request'}"
                                for b, t in sys_columns]
    sys_rows = []
    for name in SYSCALLS:
        cells = [median(table, b, t, name) for b, t in sys_columns]
        if all(not c for c in cells):
            continue
        sys_rows.append([name] + [("0" if c is None else f"{c:.2f}") for c in cells])
    segments = [median(table, b, t, "tcp_segments") for b, t in sys_columns]
    if any(c is not None for c in segments):
        sys_rows.append(["TCP segments sent (whole machine)"] + [("–" if c is None else f"{c:.2f}") for c in segments])

    # targets
    goal_header = ["target", "HAProxy/direct (issue)", "HAProxy/direct (here)", "Switchman/HAProxy", "goal", "met?"]
    goal_rows = []
    for title, bench, metric, minimum, issue_range in GOALS:
        d, s, h = (median(table, bench, t, metric) for t in TARGETS)
        if s is None or h is None:
            continue
        achieved = s / h
        verdict = "met" if achieved >= minimum else f"missed by {100 * (minimum - achieved) / minimum:.0f}%"
        goal_rows.append([title, issue_range, ratio(h, d), f"{achieved:.2f}", f"≥ {minimum:.2f}", verdict])
    rss = median(table, "rss", "switchman", "exchanged_bytes_per_pair")
    rss_idle = median(table, "rss", "switchman", "idle_bytes_per_pair")
    if rss is not None:
        worst = max(rss, rss_idle or 0)
        verdict = "met" if worst <= RSS_LIMIT else f"missed by {worst - RSS_LIMIT:.0f} B"
        goal_rows.append(["RSS per idle pair (Switchman)", "3.3 KB", fmt(median(table, "rss", "haproxy", "exchanged_bytes_per_pair")) + " B",
                          f"{fmt(worst)} B", f"≤ {RSS_LIMIT} B", verdict])
    per_req = [median(table, "syscalls-keepalive", "switchman", n) for n in ("read", "write", "recvfrom", "sendto", "readv", "writev")]
    if any(v is not None for v in per_req):
        io = sum(v or 0 for v in per_req)
        waits = sum(median(table, "syscalls-keepalive", "switchman", n) or 0 for n in ("epoll_wait", "epoll_pwait"))
        verdict = "at the floor" if io <= 4.2 and waits < 1 else f"{io:.2f} I/O calls, {waits:.2f} waits"
        goal_rows.append(["syscalls per keep-alive request (Switchman)", "–", "–",
                          f"{io:.2f} I/O + {waits:.2f} epoll_wait", "4 I/O + <1 epoll_wait", verdict])

    # what users pay at a fixed rate (the cpu bench), per round, min–max
    cpu_targets = [t for t in CPU_TARGETS if ("cpu", t, "tps") in rounds]
    cpu_header = [f"pgbench -S, 8 clients, {meta.get('rate', '?')} TPS offered"] + [LABEL[t] for t in cpu_targets]
    cpu_rows = []
    if cpu_targets:
        for metric, title in (("tps", "TPS reached"),
                              ("proxy_cpu_us_per_txn", "proxy CPU per transaction, µs"),
                              ("machine_cpu_us_per_txn", "machine CPU per transaction, µs"),
                              ("lat_p50_ms", "latency p50, ms"),
                              ("lat_p99_ms", "latency p99, ms")):
            cpu_rows.append([title] + [spread(rounds.get(("cpu", t, metric), {}).values()) for t in cpu_targets])
        for metric, title in (("machine_cpu_us_per_txn", "machine CPU added over direct, µs"),
                              ("lat_p50_ms", "p50 added over direct, ms"),
                              ("lat_p99_ms", "p99 added over direct, ms")):
            cpu_rows.append([title] + ["–" if t == "direct" else spread(per_round(rounds, "cpu", t, "direct", metric, subtract))
                                       for t in cpu_targets])

    # A run that fell behind the offered rate measured a saturated system, not a fixed rate.
    cpu_warnings = []
    offered = float(meta.get("rate", "0") or 0)
    for t in cpu_targets:
        for r, tps in sorted(rounds.get(("cpu", t, "tps"), {}).items()):
            if offered and tps < 0.95 * offered:
                cpu_warnings.append(f"{LABEL[t]} reached only {tps:,.0f} of {offered:,.0f} TPS in round {r}: "
                                    "that run measured a saturated machine, not a fixed rate")

    # proxy CPU per request at saturation (wrk)
    req_header = ["proxy CPU at saturation, µs", "Switchman", "HAProxy", "SW/HA per round"]
    req_rows = []
    for bench, title in (("keepalive", "per keep-alive request"), ("connclose", "per connection (Connection: close)")):
        s_, h_ = (rounds.get((bench, t, "cpu_us_per_req"), {}).values() for t in ("switchman", "haproxy"))
        if not s_ and not h_:
            continue
        req_rows.append([title, spread(s_), spread(h_),
                         ratio_spread(per_round(rounds, bench, "switchman", "haproxy", "cpu_us_per_req", divide))])

    # the targets of issue 13, judged per round
    t13_header = ["target (issue 13)", "measured: median (min–max over rounds)", "goal", "met?"]
    t13_rows = []
    def add(title, values, goal_text, goal, at_most):
        if values:
            t13_rows.append([title, ratio_spread(values), goal_text, judge(values, goal, at_most) if goal else "reported, no goal"])
    add("proxy CPU per transaction at a fixed rate, Switchman/HAProxy",
        per_round(rounds, "cpu", "switchman", "haproxy", "proxy_cpu_us_per_txn", divide), "≤ 1.00", 1.00, True)
    add("pgbench -S 8 clients TPS, Switchman/direct", per_round(rounds, "pgbench8", "switchman", "direct", "tps", divide), "–", None, False)
    add("pgbench -S 8 clients TPS, HAProxy/direct", per_round(rounds, "pgbench8", "haproxy", "direct", "tps", divide), "–", None, False)
    add("connections/s, Switchman/HAProxy", per_round(rounds, "connclose", "switchman", "haproxy", "rps", divide), "≥ 1.00", 1.00, False)
    add("proxy CPU per connection, Switchman/HAProxy",
        per_round(rounds, "connclose", "switchman", "haproxy", "cpu_us_per_req", divide), "≤ 1.00", 1.00, True)
    for metric, what in (("idle_bytes_per_pair", "connected"), ("exchanged_bytes_per_pair", "after a message")):
        values = list(rounds.get(("rss", "switchman", metric), {}).values())
        if values:
            t13_rows.append([f"RSS per idle pair ({what}), bytes", spread(values), f"≤ {RSS_LIMIT}", judge(values, RSS_LIMIT, True)])

    # stdout
    print()
    for warning in cpu_warnings:
        print("warning:", warning)
    for block in (text_table(cpu_header, cpu_rows), text_table(t13_header, t13_rows),
                  text_table(header, main_rows), text_table(req_header, req_rows),
                  text_table(bulk_header, bulk_rows),
                  text_table(rss_header, rss_rows), text_table(sys_header, sys_rows),
                  text_table(goal_header, goal_rows)):
        if len(block) > 2:
            print("\n".join(block))
            print()

    if out == "-":
        return
    md = [BEGIN, "", f"Run of {meta.get('date', '?')} by `bench/run.sh{meta.get('args', '')}` "
          f"({meta.get('rounds', '?')} rounds, medians; ratios are medians over medians).", ""]
    md += [f"- Machine: {meta.get('nproc', '?')} CPUs ({meta.get('cpu', '?')}), kernel {meta.get('kernel', '?')}, "
           f"{meta.get('memory', '?')} RAM; everything on 127.0.0.1, sharing those CPUs.",
           f"- Versions: {meta.get('versions', '?')}.",
           f"- Settings: {meta.get('settings', '?')}.", ""]
    if cpu_rows:
        md += [f"### What users pay: CPU and latency per query at a fixed rate (median, min–max over rounds)", ""]
        md += markdown_table(cpu_header, cpu_rows) + [""]
        md += [f"Warning: {w}." for w in cpu_warnings] + ([""] if cpu_warnings else [])
    if t13_rows:
        md += ["### Targets of issue 13 (per-round ratios: median, min–max)", ""] + markdown_table(t13_header, t13_rows) + [""]
    md += ["### Results", ""] + markdown_table(header, main_rows) + [""]
    if req_rows:
        md += ["### Proxy CPU per request at saturation (median, min–max over rounds)", ""]
        md += markdown_table(req_header, req_rows) + [""]
    if bulk_rows:
        md += ["### Bulk throughput by splice mode (ratio to direct in brackets)", ""]
        md += markdown_table(bulk_header, bulk_rows) + [""]
    if rss_rows:
        md += [f"### Memory: {meta.get('pairs', '?')} idle pairs, (RSS after − RSS before) / pairs", ""]
        md += markdown_table(rss_header, rss_rows) + [""]
    if sys_rows:
        md += ["### System calls per request (proxy process, all threads; per connection for the "
               "connection-per-request load; `all` = every syscall; the last row counts every TCP segment "
               "the machine sent, client and server sockets included)", ""]
        md += markdown_table(sys_header, sys_rows) + [""]
    if goal_rows:
        md += ["### Targets from the issue", ""] + markdown_table(goal_header, goal_rows) + [""]
    md += ["<details><summary>Every measurement</summary>", "", "| bench | target | metric | values |",
           "|---|---|---|---|"]
    for (bench, target, metric), values in sorted(table.items()):
        md.append(f"| {bench} | {target} | {metric} | {', '.join(fmt(v) for v in values)} |")
    md += ["", "</details>", "", END]
    block = "\n".join(md)

    previous = open(out).read() if os.path.exists(out) else ""
    if BEGIN in previous and END in previous:
        head, rest = previous.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = ("# Benchmarks\n\nProduced by `bench/run.sh` (see `bench/README.md`); the part between the "
                "`bench:` markers is rewritten by each run, the notes around it are kept.\n\n" + block + "\n"
                + previous)
    with open(out, "w") as target:
        target.write(text)
    print(f"wrote {out}")


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "ports":
        ports(int(args[0]))
    elif command == "pgbench-p99":
        pgbench_p99(args)
    elif command == "pgbench-percentiles":
        pgbench_percentiles(args)
    elif command == "iperf-gbps":
        iperf_gbps(args[0])
    elif command == "perf-stat":
        perf_stat(args[0], args[1])
    elif command == "strace-c":
        strace_c(args[0], args[1])
    elif command == "report":
        report(args[0], args[1], args[2])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
