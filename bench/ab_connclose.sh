#!/usr/bin/env bash
# Two Switchman builds and HAProxy side by side under a new connection per request, for a change to
# the connection path: connections/s and proxy CPU per connection, paired per round.
#
#   bench/ab_connclose.sh BEFORE_BINARY AFTER_BINARY [--rounds N] [--seconds S]   (default 20 × 4 s)
#
# nginx (1 worker, a 100-byte file) behind HAProxy (nbthread THREADS) and both builds (threads
# THREADS, one static listener); each round runs `wrk -t2 -c64 -H 'Connection: close'` against the
# three, their order rotated every round, 1 s apart. CPU per connection is the proxy's utime + stime
# (all threads, /proc/PID/stat) over the connections wrk completed. The report gives per-round ratios
# (after/before, after/HAProxy, before/HAProxy) as median, interquartile range and min–max: on this
# shared 2-core machine a single run moves by ±10 %, a paired median over 20+ rounds by far less.
# Needs nginx-light, haproxy, wrk, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SM_SCRIPT=ab_connclose.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
PY=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
THREADS=${THREADS:-2}
ROUNDS=20
SECONDS_PER_RUN=4
[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 2; }
BEFORE=$1; AFTER=$2; shift 2
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift ;;
        --seconds) SECONDS_PER_RUN=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for tool in nginx haproxy wrk; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }; done
for binary in "$BEFORE" "$AFTER"; do [ -x "$binary" ] || { echo "no Switchman binary at $binary" >&2; exit 2; }; done
ulimit -n "$(ulimit -Hn)"

sm_bench_workdir switchman-ab-connclose
chmod 755 "$WORK"   # nginx's workers read the page as an unprivileged user

read -r NGINX_PORT HA_PORT BEFORE_PORT BEFORE_STATS AFTER_PORT AFTER_STATS <<< "$("$PY" "$ROOT/bench/tools.py" ports 6)"

mkdir -p "$WORK/www" "$WORK/tmp"
head -c 100 /dev/zero | tr '\0' 'x' > "$WORK/www/index.html"
cat > "$WORK/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 10000; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp;
    proxy_temp_path $WORK/tmp;
    fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp;
    scgi_temp_path $WORK/tmp;
    server { listen 127.0.0.1:$NGINX_PORT; root $WORK/www; }
}
EOF
cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 9000
    nbthread $THREADS
defaults
    mode tcp
    maxconn 9000
    retries 2
    timeout client 30m
    timeout connect 4s
    timeout server 30m
listen http
    bind 127.0.0.1:$HA_PORT
    server s1 127.0.0.1:$NGINX_PORT
EOF
switchman_config() {   # switchman_config FILE PORT STATS_PORT
    cat > "$1" <<EOF
threads: $THREADS
maxconn: 9000
log_sessions: false
timeouts: { connect: 4s, client_idle: 30m, server_idle: 30m, shutdown: 2s }
listeners:
  - { name: http, bind: "127.0.0.1:$2", role: static, servers: ["127.0.0.1:$NGINX_PORT"] }
stats: { bind: "127.0.0.1:$3" }
EOF
}
switchman_config "$WORK/before.yaml" "$BEFORE_PORT" "$BEFORE_STATS"
switchman_config "$WORK/after.yaml" "$AFTER_PORT" "$AFTER_STATS"

listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
nginx -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' 2>>"$WORK/nginx.stderr" & PIDS+=($!)
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & HA_PID=$!; PIDS+=($!)
"$BEFORE" run --config "$WORK/before.yaml" >"$WORK/before.log" 2>&1 & BEFORE_PID=$!; PIDS+=($!)
"$AFTER" run --config "$WORK/after.yaml" >"$WORK/after.log" 2>&1 & AFTER_PID=$!; PIDS+=($!)
for port in "$NGINX_PORT" "$HA_PORT" "$BEFORE_PORT" "$AFTER_PORT"; do
    sm_wait_until 30 "something to listen on port $port" listening "$port"
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)
RESULTS="$WORK/results.tsv"
TARGETS=("before $BEFORE_PORT $BEFORE_PID" "after $AFTER_PORT $AFTER_PID" "haproxy $HA_PORT $HA_PID")
sm_log "$ROUNDS rounds of ${SECONDS_PER_RUN}s wrk runs, Connection: close"
for round in $(seq 1 "$ROUNDS"); do
    for k in 0 1 2; do
        read -r name port pid <<< "${TARGETS[$(( (k + round) % 3 ))]}"
        before_ticks=$(cpu_ticks "$pid")
        out=$(timeout $((SECONDS_PER_RUN + 30)) wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" -H "Connection: close" \
            "http://127.0.0.1:$port/index.html")
        after_ticks=$(cpu_ticks "$pid")
        requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<< "$out")
        [ -n "$requests" ] && [ "$requests" -gt 0 ] || sm_die "wrk completed no request through $name: $out"
        # Anything but a clean run means the figures are not about the proxies: stop.
        ! grep -q "Socket errors\|Non-2xx" <<< "$out" || sm_die "$name: $(grep "Socket errors\|Non-2xx" <<< "$out")"
        printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$round" "$requests" "$SECONDS_PER_RUN" \
            "$(awk -v d="$((after_ticks - before_ticks))" -v t="$TICKS" -v r="$requests" 'BEGIN { printf "%.3f", d / t * 1e6 / r }')" >> "$RESULTS"
        sleep 1
    done
    sm_log "  round $round of $ROUNDS done"
done

"$PY" - "$RESULTS" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, round_, requests, seconds, cpu = line.split("\t")
    rows.setdefault(name, {})[int(round_)] = (int(requests) / float(seconds), float(cpu))

def spread(values):
    values = sorted(values)
    n = len(values)
    return f"{statistics.median(values):.3f} (IQR {values[n // 4]:.3f}–{values[(3 * n) // 4]:.3f}, min–max {values[0]:.3f}–{values[-1]:.3f})"

print("per target, median over rounds:")
for name in ("before", "after", "haproxy"):
    rates = [v[0] for v in rows[name].values()]
    cpus = [v[1] for v in rows[name].values()]
    print(f"  {name:8} {statistics.median(rates):9.0f} connections/s   {statistics.median(cpus):7.2f} µs proxy CPU per connection")
print("per-round ratios:")
for a, b in (("after", "before"), ("after", "haproxy"), ("before", "haproxy")):
    common = sorted(set(rows[a]) & set(rows[b]))
    print(f"  {a}/{b}: connections/s {spread([rows[a][r][0] / rows[b][r][0] for r in common])}")
    print(f"  {' ' * len(a + b)}  CPU per connection {spread([rows[a][r][1] / rows[b][r][1] for r in common])}")
EOF
