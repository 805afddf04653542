#!/usr/bin/env bash
# Switchman vs HAProxy vs direct, side by side, on 127.0.0.1. See bench/README.md.
#
#   bench/run.sh            full run (5 rounds, ~10 minutes), writes BENCHMARKS.md
#   bench/run.sh --quick    1 round, short durations, prints only (add --write to write)
#   options: --rounds N, --only "cpu pgbench pgconnect keepalive connclose bulk rss syscalls", --out FILE, --keep
#
# Needs root (PostgreSQL runs as the postgres user through runuser), and: postgresql-15, haproxy,
# nginx-light, wrk, iperf3, linux-perf (or strace), python3, and a release build of Switchman
# (built here when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SWITCHMAN=${SWITCHMAN:-$ROOT/.build/release/switchman}

QUICK=0; ROUNDS=5; ONLY="cpu pgbench pgconnect keepalive connclose bulk rss syscalls"; OUT="$ROOT/BENCHMARKS.md"
WRITE=1; KEEP=0; ARGS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1; ROUNDS=1; WRITE=0 ;;
        --write) WRITE=2 ;;
        --rounds) ROUNDS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --out) OUT=$2; shift 2; continue ;;   # where it goes is not part of how it ran
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    ARGS="$ARGS $1"; shift
done
[ "$WRITE" = 2 ] && WRITE=1
if [ "$QUICK" = 1 ]; then
    PG_DUR=3; WRK_DUR=3; IPERF_DUR=2; SYS_DUR=2; CPU_DUR=5; WARM=1
else
    PG_DUR=${PG_DUR:-5}; WRK_DUR=${WRK_DUR:-5}; IPERF_DUR=${IPERF_DUR:-3}; SYS_DUR=${SYS_DUR:-5}; CPU_DUR=${CPU_DUR:-10}; WARM=2
fi
RATE=${RATE:-4000}             # offered pgbench -S rate for the CPU benchmark, below saturation here
THREADS=${THREADS:-2}          # Switchman threads = HAProxy nbthread
NGINX_WORKERS=${NGINX_WORKERS:-1}
PAIRS=${PAIRS:-8000}
MAXCONN=9000                   # ≥ PAIRS, and 2 × MAXCONN fds fit the 20,000 hard limit here
has() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

[ "$(id -u)" = 0 ] || { echo "run as root (PostgreSQL is started as the postgres user)" >&2; exit 2; }
for tool in haproxy nginx wrk iperf3 ss "$PGBIN/pgbench" "$PGBIN/initdb"; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
if [ ! -x "$SWITCHMAN" ]; then
    echo "building Switchman (release)…"
    (cd "$ROOT" && swift build -c release)
fi

# Every process gets the hard fd limit (20,000 here; raising the hard limit needs CAP_SYS_RESOURCE).
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * MAXCONN + 100)) ] || { echo "fd limit $(ulimit -n) too low for $MAXCONN sessions" >&2; exit 2; }

WORK=$(mktemp -d /tmp/switchman-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_STARTED=0
NGINX_STARTED=0
cleanup() {
    local rc=$?
    set +e
    if [ "$rc" != 0 ]; then
        echo "failed (exit $rc); processes and log tails:" >&2
        for pid in "${PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then echo "  pid $pid alive: $(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-100)" >&2
            else echo "  pid $pid gone" >&2; fi
        done
        for f in "$WORK"/*.log; do [ -s "$f" ] && { echo "== $f" >&2; tail -n 20 "$f" >&2; }; done
        KEEP=1
    fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ "$PG_STARTED" = 1 ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1
    fi
    if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$(date +%s)
log() { printf '[%4ds] %s\n' $(( $(date +%s) - START )) "$*" >&2; }
RESULTS="$WORK/results.tsv"; : > "$RESULTS"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"; }   # bench target round metric value

# Waits (bounded) until something listens on 127.0.0.1:$1.
wait_listen() {
    for _ in $(seq 200); do
        [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2; return 1
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
CLK_TCK=$(getconf CLK_TCK)
# utime + stime of every thread of a process, in clock ticks (the fields after the ")" of the comm).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# Busy ticks of the whole machine (every CPU: user, nice, system, irq, softirq; not idle, iowait,
# nor steal, which is other guests' time on this VM's CPUs), from /proc/stat.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
# µs of CPU per unit of work: ticks_to_us TICKS COUNT
per_unit_us() { awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n }'; }
proxy_pid() {   # the process a target's CPU is measured on (none for direct)
    case "$1" in switchman) echo "$SW_PID" ;; haproxy) echo "$HA_PID" ;; *) echo "" ;; esac
}

read -r PG_PORT NGINX_PORT IPERF_PORT HOLD_PORT \
        SW_PG SW_HTTP SW_IPERF SW_STATS SW_ON_IPERF SW_ON_STATS SW_OFF_IPERF SW_OFF_STATS \
        HA_PG HA_HTTP HA_IPERF SW_HOLD SW_HOLD_STATS HA_HOLD <<< "$("$PY" "$BENCH/tools.py" ports 18)"

# ------------------------------------------------------------------------------------------------
# backends

start_postgres() {
    log "PostgreSQL 15 on port $PG_PORT: initdb, start, pgbench -i -s 10"
    mkdir -p "$WORK/pg"; chown postgres: "$WORK/pg"
    runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres --no-sync >"$WORK/pg/initdb.log" 2>&1
    PG_STARTED=1
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$WORK/pg -c max_connections=200 -c shared_buffers=256MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    "$PGBIN/pgbench" -i -s 10 -q -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >"$WORK/pg/init.log" 2>&1
}

start_nginx() {
    log "nginx ($NGINX_WORKERS worker) on port $NGINX_PORT"
    mkdir -p "$WORK/nginx/www" "$WORK/nginx/tmp"
    head -c 100 /dev/zero | tr '\0' 'x' > "$WORK/nginx/www/index.html"
    cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 10000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/nginx/www;
    }
}
EOF
    nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>>"$WORK/nginx/stderr" &
    NGINX_PID=$!; PIDS+=($!)
    wait_listen "$NGINX_PORT"
    NGINX_STARTED=1
}

start_iperf() {
    log "iperf3 server on port $IPERF_PORT"
    iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >>"$WORK/iperf-server.log" 2>&1 &
    IPERF_PID=$!; PIDS+=($!)
    wait_listen "$IPERF_PORT"
}

# ------------------------------------------------------------------------------------------------
# proxies

# switchman_config FILE SPLICE STATS_PORT "name bind_port backend_port" ...
switchman_config() {
    local file=$1 splice=$2 stats=$3; shift 3
    {
        echo "threads: $THREADS"
        echo "maxconn: $MAXCONN"
        echo "log_sessions: false"
        echo "splice: $splice"
        echo "timeouts: { connect: 4s, client_idle: 30m, server_idle: 30m, shutdown: 2s }"
        echo "listeners:"
        local spec name port backend
        for spec in "$@"; do
            read -r name port backend <<< "$spec"
            echo "  - { name: $name, bind: \"127.0.0.1:$port\", role: static, servers: [\"127.0.0.1:$backend\"] }"
        done
        echo "stats: { bind: \"127.0.0.1:$stats\" }"
    } > "$file"
}

# haproxy_config FILE "name bind_port backend_port" ...
haproxy_config() {
    local file=$1; shift
    {
        echo "global"
        echo "    maxconn $MAXCONN"
        echo "    nbthread $THREADS"
        echo "defaults"
        echo "    mode tcp"
        echo "    maxconn $MAXCONN"
        echo "    retries 2"
        echo "    timeout client 30m"
        echo "    timeout connect 4s"
        echo "    timeout server 30m"
        local spec name port backend
        for spec in "$@"; do
            read -r name port backend <<< "$spec"
            echo "listen $name"
            echo "    bind 127.0.0.1:$port"
            echo "    server s1 127.0.0.1:$backend"
        done
    } > "$file"
}

# start_switchman NAME CONFIG PORT → sets LAST_PID
start_switchman() {
    "$SWITCHMAN" run --config "$2" >>"$WORK/$1.log" 2>&1 &
    LAST_PID=$!; PIDS+=("$LAST_PID")
    wait_listen "$3" || { cat "$WORK/$1.log" >&2; exit 1; }
}
start_haproxy() {
    haproxy -f "$2" -db >>"$WORK/$1.log" 2>&1 &
    LAST_PID=$!; PIDS+=("$LAST_PID")
    wait_listen "$3" || { cat "$WORK/$1.log" >&2; exit 1; }
}
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    kill -KILL "$1" 2>/dev/null || true
}

start_sw_main() { start_switchman sw "$WORK/sw.yaml" "$SW_HTTP"; SW_PID=$LAST_PID; }
start_sw_on() { start_switchman sw-on "$WORK/sw-on.yaml" "$SW_ON_IPERF"; SW_ON_PID=$LAST_PID; }
start_sw_off() { start_switchman sw-off "$WORK/sw-off.yaml" "$SW_OFF_IPERF"; SW_OFF_PID=$LAST_PID; }
start_ha_main() { start_haproxy haproxy "$WORK/haproxy.cfg" "$HA_HTTP"; HA_PID=$LAST_PID; }

# Other work on a shared machine may kill processes by name (it happened: an iperf3 server and once
# a Switchman vanished mid-run). Before each run, start again whatever the run needs that is gone,
# and say so; the run itself then measures a fresh process.
revive() {   # revive NAME PID START_FUNCTION
    kill -0 "$2" 2>/dev/null && return 0
    log "  $1 (pid $2) is gone, killed from outside? starting it again"
    "$3"
}
ensure() {   # ensure SERVICE TARGET
    case "$1" in
        http) revive nginx "$NGINX_PID" start_nginx ;;
        iperf) revive iperf3 "$IPERF_PID" start_iperf ;;
        pg) runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" status >/dev/null 2>&1 \
                || { echo "PostgreSQL is gone" >&2; return 1; } ;;
    esac
    case "$2" in
        switchman) revive "Switchman" "$SW_PID" start_sw_main ;;
        switchman-splice-on) revive "Switchman splice:on" "$SW_ON_PID" start_sw_on ;;
        switchman-splice-off) revive "Switchman splice:off" "$SW_OFF_PID" start_sw_off ;;
        haproxy) revive HAProxy "$HA_PID" start_ha_main ;;
    esac
}

start_proxies() {
    log "Switchman (splice auto, on, off) and HAProxy, $THREADS threads each"
    switchman_config "$WORK/sw.yaml" auto "$SW_STATS" "pg $SW_PG $PG_PORT" "http $SW_HTTP $NGINX_PORT" "iperf $SW_IPERF $IPERF_PORT"
    switchman_config "$WORK/sw-on.yaml" on "$SW_ON_STATS" "iperf $SW_ON_IPERF $IPERF_PORT"
    switchman_config "$WORK/sw-off.yaml" off "$SW_OFF_STATS" "iperf $SW_OFF_IPERF $IPERF_PORT"
    haproxy_config "$WORK/haproxy.cfg" "pg $HA_PG $PG_PORT" "http $HA_HTTP $NGINX_PORT" "iperf $HA_IPERF $IPERF_PORT"
    start_sw_main; start_sw_on; start_sw_off; start_ha_main
    for port in "$SW_PG" "$HA_PG"; do wait_listen "$port"; done
    for port in "$SW_IPERF" "$HA_IPERF"; do wait_listen "$port"; done
}

# The port each target listens on for a service.
port_of() {   # port_of SERVICE TARGET
    case "$1:$2" in
        pg:direct) echo "$PG_PORT" ;; pg:switchman) echo "$SW_PG" ;; pg:haproxy) echo "$HA_PG" ;;
        http:direct) echo "$NGINX_PORT" ;; http:switchman) echo "$SW_HTTP" ;; http:haproxy) echo "$HA_HTTP" ;;
        iperf:direct) echo "$IPERF_PORT" ;; iperf:switchman) echo "$SW_IPERF" ;; iperf:haproxy) echo "$HA_IPERF" ;;
        iperf:switchman-splice-on) echo "$SW_ON_IPERF" ;; iperf:switchman-splice-off) echo "$SW_OFF_IPERF" ;;
        *) echo "no port for $1:$2" >&2; return 1 ;;
    esac
}

# Round r runs the targets rotated by r, so no target always goes first or last.
rotated() {   # rotated ROUND TARGET...
    local r=$1; shift
    local list=("$@") n=$# i
    for ((i = 0; i < n; i++)); do echo "${list[$(( (i + r) % n ))]}"; done
}

sanity_check() {
    log "checking every path once"
    local t
    for t in direct switchman haproxy; do
        if [ "$NGINX_STARTED" = 1 ]; then
            curl -sf -o /dev/null "http://127.0.0.1:$(port_of http "$t")/index.html" || { echo "HTTP through $t failed" >&2; exit 1; }
        fi
        if [ "$PG_STARTED" = 1 ]; then
            "$PGBIN/psql" -qAt -h 127.0.0.1 -p "$(port_of pg "$t")" -U postgres -c 'select 1' postgres >/dev/null \
                || { echo "PostgreSQL through $t failed" >&2; exit 1; }
        fi
    done
}

# ------------------------------------------------------------------------------------------------
# benchmarks

run_pgbench() {   # run_pgbench BENCH CLIENTS TARGET ROUND
    local bench=$1 clients=$2 target=$3 round=$4 dir="$WORK/pgbench/$1-$3-$4"
    mkdir -p "$dir"
    ensure pg "$target"
    local out
    out=$(cd "$dir" && timeout $((PG_DUR + 60)) "$PGBIN/pgbench" -S -n -c "$clients" -j 2 -T "$PG_DUR" -l --log-prefix=tx \
        -h 127.0.0.1 -p "$(port_of pg "$target")" -U postgres postgres 2>&1) || { echo "$out" >&2; return 1; }
    local tps lat p99
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<< "$out")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<< "$out")
    p99=$("$PY" "$BENCH/tools.py" pgbench-p99 "$dir"/tx.*)
    rm -f "$dir"/tx.*
    record "$bench" "$target" "$round" tps "$tps"
    record "$bench" "$target" "$round" lat_avg_ms "$lat"
    record "$bench" "$target" "$round" lat_p99_ms "$p99"
    log "  $bench $target: $tps TPS, avg $lat ms, p99 $p99 ms"
}

# The cost per query users pay, at a fixed offered rate below saturation (pgbench -R), so that it does
# not depend on how the two shared CPUs happen to be split between load, proxy and PostgreSQL: the
# proxy's CPU per transaction (all threads, /proc/PID/stat), the whole machine's (/proc/stat: what the
# extra hop costs, wherever the kernel accounts it), and the latency pgbench sees (measured from each
# transaction's scheduled start, so a proxy that falls behind shows it).
run_pgbench_rate() {   # run_pgbench_rate TARGET ROUND
    local target=$1 round=$2 dir="$WORK/pgbench/cpu-$1-$2"
    mkdir -p "$dir"
    ensure pg "$target"
    local pid cpu0 cpu1 m0 m1 out
    pid=$(proxy_pid "$target")
    [ -n "$pid" ] && cpu0=$(cpu_ticks "$pid"); m0=$(machine_ticks)
    out=$(cd "$dir" && timeout $((CPU_DUR + 60)) "$PGBIN/pgbench" -S -n -c 8 -j 2 -R "$RATE" -T "$CPU_DUR" -l --log-prefix=tx \
        -h 127.0.0.1 -p "$(port_of pg "$target")" -U postgres postgres 2>&1) || { echo "$out" >&2; return 1; }
    [ -n "$pid" ] && cpu1=$(cpu_ticks "$pid"); m1=$(machine_ticks)
    local txns tps p50 p99
    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<< "$out")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<< "$out")
    read -r p50 p99 <<< "$("$PY" "$BENCH/tools.py" pgbench-percentiles "$dir"/tx.*)"
    rm -f "$dir"/tx.*
    record cpu "$target" "$round" tps "$tps"
    record cpu "$target" "$round" lat_p50_ms "$p50"
    record cpu "$target" "$round" lat_p99_ms "$p99"
    record cpu "$target" "$round" machine_cpu_us_per_txn "$(per_unit_us $((m1 - m0)) "$txns")"
    [ -n "$pid" ] && record cpu "$target" "$round" proxy_cpu_us_per_txn "$(per_unit_us $((cpu1 - cpu0)) "$txns")"
    log "  cpu $target: $tps TPS of $RATE offered, p50 $p50 ms, p99 $p99 ms, proxy $( [ -n "$pid" ] && per_unit_us $((cpu1 - cpu0)) "$txns" || echo –) µs/txn, machine $(per_unit_us $((m1 - m0)) "$txns") µs/txn"
}

# TIME_WAIT sockets whose peer is PostgreSQL's port and that began in the last SECONDS seconds (their
# timer, 60 s at the start, still shows more than 60 - SECONDS - 1): through a proxy these are the
# proxy's own ports toward PostgreSQL; direct, they are pgbench's. ss prints the timer as 59sec, 916ms
# or 1min.
recent_time_waits_toward_postgres() {   # recent_time_waits_toward_postgres SECONDS
    ss -Htan -o state time-wait "dport = :$PG_PORT" | awk -v recent="$1" '
        match($0, /timer:\(timewait,[^,]*,/) {
            left = substr($0, RSTART + 16, RLENGTH - 17)
            if (left ~ /min$/) left = left * 60; else if (left ~ /ms$/) left = left / 1000; else left = left + 0
            if (left >= 60 - recent - 1) n++
        }
        END { print n + 0 }'
}

# A new PostgreSQL connection per transaction (pgbench -C; trust authentication, so the connection's
# own cost dominates, not SCRAM), and the TIME_WAITs it leaves toward PostgreSQL: the side that sends
# the first FIN keeps them, and those on a proxy's ephemeral ports limit its new connections per
# second to one node (~28,000 ports per 60 s with Debian's defaults, off loopback).
#
# On loopback the kernel lets a new connect reuse a port still in TIME_WAIT (tcp_tw_reuse=2), which
# ends that TIME_WAIT early: so the count is a lower bound for HAProxy and direct. A target that
# leaves none shows 0 all the same.
run_pgconnect() {   # run_pgconnect TARGET ROUND
    local target=$1 round=$2
    ensure pg "$target"
    sleep 2   # the previous run's TIME_WAITs are then at least 2 s older than any of this run's
    local out started elapsed
    started=$(date +%s.%N)
    out=$(timeout $((PG_DUR + 60)) "$PGBIN/pgbench" -S -n -C -c 8 -j 2 -T "$PG_DUR" \
        -h 127.0.0.1 -p "$(port_of pg "$target")" -U postgres postgres 2>&1) || { echo "$out" >&2; return 1; }
    elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
    local txns tps new
    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<< "$out")
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<< "$out")
    new=$(recent_time_waits_toward_postgres "$elapsed")
    record pgconnect "$target" "$round" tps "$tps"
    record pgconnect "$target" "$round" time_waits_per_conn "$(awk -v n="$new" -v c="$txns" 'BEGIN { if (c > 0) printf "%.3f", n / c }')"
    log "  pgconnect $target: $tps connections/s, $new TIME_WAITs toward PostgreSQL for $txns connections"
}

# wrk_run TARGET DURATION [extra wrk args] → prints wrk output
wrk_run() {
    local target=$1 duration=$2; shift 2
    timeout $((duration + 30)) wrk -t2 -c64 -d"${duration}s" "$@" "http://127.0.0.1:$(port_of http "$target")/index.html"
}
wrk_requests() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'; }
wrk_rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
wrk_lat_ms() {   # the Latency line's average, in ms
    awk '$1 == "Latency" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }'
}
wrk_errors() { sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' | awk '{ print $1 + $2 + $3 + $4 }'; }

run_wrk() {   # run_wrk BENCH TARGET ROUND [extra args]
    local bench=$1 target=$2 round=$3; shift 3
    local out rps errors
    ensure http "$target"
    local pid cpu0 cpu1
    pid=$(proxy_pid "$target"); [ -n "$pid" ] && cpu0=$(cpu_ticks "$pid")
    out=$(wrk_run "$target" "$WRK_DUR" "$@")
    [ -n "$pid" ] && cpu1=$(cpu_ticks "$pid")
    rps=$(wrk_rps <<< "$out"); errors=$(wrk_errors <<< "$out"); errors=${errors:-0}
    record "$bench" "$target" "$round" rps "$rps"
    # CPU per request (per connection under Connection: close), at saturation
    [ -n "$pid" ] && record "$bench" "$target" "$round" cpu_us_per_req "$(per_unit_us $((cpu1 - cpu0)) "$(wrk_requests <<< "$out")")"
    record "$bench" "$target" "$round" lat_avg_ms "$(wrk_lat_ms <<< "$out")"
    record "$bench" "$target" "$round" socket_errors "$errors"
    log "  $bench $target: $rps req/s (socket errors: $errors)"
}

run_iperf() {   # run_iperf BENCH STREAMS TARGET ROUND
    local bench=$1 streams=$2 target=$3 round=$4 file="$WORK/iperf-$1-$3-$4.json"
    ensure iperf "$target"
    local gbps attempt
    for attempt in 1 2; do
        timeout $((IPERF_DUR + 30)) iperf3 -c 127.0.0.1 -p "$(port_of iperf "$target")" -t "$IPERF_DUR" -P "$streams" -J > "$file" || true
        gbps=$("$PY" "$BENCH/tools.py" iperf-gbps "$file" 2>&1) && break
        log "  iperf3 through $target failed ($gbps)"
        [ "$attempt" = 2 ] && return 1
        sleep 1; ensure iperf "$target"
    done
    record "$bench" "$target" "$round" gbps "$gbps"
    log "  $bench $target: $gbps Gbit/s"
}

bench_pgbench() {
    log "pgbench -S (${PG_DUR}s per run)"
    "$PGBIN/pgbench" -S -n -c 8 -j 2 -T "$WARM" -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >/dev/null 2>&1   # warm the cache
    local clients r t
    for clients in 8 64; do
        for ((r = 0; r < ROUNDS; r++)); do
            for t in $(rotated "$r" switchman haproxy direct); do run_pgbench "pgbench$clients" "$clients" "$t" "$r"; done
        done
    done
}

bench_pgconnect() {
    log "a PostgreSQL connection per transaction: pgbench -S -C -c 8 (${PG_DUR}s per run)"
    local r t
    for ((r = 0; r < ROUNDS; r++)); do
        for t in $(rotated "$r" switchman haproxy direct); do run_pgconnect "$t" "$r"; done
    done
}

bench_cpu() {
    log "CPU per transaction: pgbench -S -c 8 -R $RATE (${CPU_DUR}s per run)"
    "$PGBIN/pgbench" -S -n -c 8 -j 2 -T "$WARM" -h 127.0.0.1 -p "$PG_PORT" -U postgres postgres >/dev/null 2>&1   # warm the cache
    local r t
    for ((r = 0; r < ROUNDS; r++)); do
        for t in $(rotated "$r" switchman haproxy direct); do run_pgbench_rate "$t" "$r"; done
    done
}

bench_keepalive() {
    log "keep-alive requests: wrk -t2 -c64 (${WRK_DUR}s per run)"
    wrk_run direct "$WARM" >/dev/null
    local r t
    for ((r = 0; r < ROUNDS; r++)); do
        for t in $(rotated "$r" switchman haproxy direct); do run_wrk keepalive "$t" "$r"; done
    done
}

bench_connclose() {
    log "a new connection per request: wrk -H 'Connection: close' (${WRK_DUR}s per run)"
    local r t
    for ((r = 0; r < ROUNDS; r++)); do
        for t in $(rotated "$r" switchman haproxy direct); do run_wrk connclose "$t" "$r" -H "Connection: close"; done
    done
}

bench_bulk() {
    log "bulk: iperf3 -t $IPERF_DUR, 1 and 4 streams"
    local streams r t
    for streams in 1 4; do
        for ((r = 0; r < ROUNDS; r++)); do
            for t in $(rotated "$r" switchman haproxy direct switchman-splice-on switchman-splice-off); do
                run_iperf "bulk$streams" "$streams" "$t" "$r"
            done
        done
    done
}

# One fresh proxy at a time, in front of idle_pairs.py (which is both the clients and the backend).
rss_one() {   # rss_one TARGET
    local target=$1 port pid
    coproc PAIRS_PROC { "$PY" "$BENCH/idle_pairs.py" "$HOLD_PORT" "$( [ "$target" = switchman ] && echo "$SW_HOLD" || echo "$HA_HOLD" )" "$PAIRS"; }
    local pairs_pid=$PAIRS_PROC_PID line
    PIDS+=("$pairs_pid")
    local -a from=("${PAIRS_PROC[0]}") to=("${PAIRS_PROC[1]}")
    read -r -t 30 line <&"${from[0]}"; [ "$line" = listening ] || { echo "idle_pairs: $line" >&2; return 1; }
    if [ "$target" = switchman ]; then
        switchman_config "$WORK/sw-hold.yaml" auto "$SW_HOLD_STATS" "hold $SW_HOLD $HOLD_PORT"
        start_switchman sw-hold "$WORK/sw-hold.yaml" "$SW_HOLD"; port=$SW_HOLD
    else
        haproxy_config "$WORK/haproxy-hold.cfg" "hold $HA_HOLD $HOLD_PORT"
        start_haproxy haproxy-hold "$WORK/haproxy-hold.cfg" "$HA_HOLD"; port=$HA_HOLD
    fi
    pid=$LAST_PID
    sleep 1
    local before connected exchanged
    before=$(rss_kib "$pid")
    echo go >&"${to[0]}"
    read -r -t 120 line <&"${from[0]}"; [ "${line%% *}" = connected ] || { echo "idle_pairs: $line" >&2; return 1; }
    sleep 1; connected=$(rss_kib "$pid")
    echo go >&"${to[0]}"
    read -r -t 120 line <&"${from[0]}"; [ "${line%% *}" = exchanged ] || { echo "idle_pairs: $line" >&2; return 1; }
    sleep 1; exchanged=$(rss_kib "$pid")
    echo done >&"${to[0]}"
    wait "$pairs_pid" 2>/dev/null || true
    stop_pid "$pid"
    record rss "$target" 0 rss_before_kib "$before"
    record rss "$target" 0 rss_connected_kib "$connected"
    record rss "$target" 0 rss_exchanged_kib "$exchanged"
    record rss "$target" 0 idle_bytes_per_pair "$(( (connected - before) * 1024 / PAIRS ))"
    record rss "$target" 0 exchanged_bytes_per_pair "$(( (exchanged - before) * 1024 / PAIRS ))"
    log "  $target: RSS $before KiB → $connected KiB ($PAIRS pairs) → $exchanged KiB (after one message each way)"
}

bench_rss() {
    log "RSS with $PAIRS idle pairs"
    rss_one switchman
    rss_one haproxy
}

SYSCALL_EVENTS=raw_syscalls:sys_enter
for name in read write readv writev recvfrom sendto recvmsg sendmsg splice epoll_wait epoll_pwait epoll_ctl \
            accept4 connect close shutdown setsockopt getsockopt socket futex pipe2 fcntl; do
    SYSCALL_EVENTS="$SYSCALL_EVENTS,syscalls:sys_enter_$name"
done
if perf stat -e syscalls:sys_enter_read true >/dev/null 2>&1; then COUNTER=perf; else COUNTER=strace; fi

# TCP segments sent by this machine so far (/proc/net/snmp's Tcp OutSegs).
tcp_out_segments() {
    awk '/^Tcp:/ { if (!header) { for (i = 1; i <= NF; i++) if ($i == "OutSegs") column = i; header = 1 } else print $column }' /proc/net/snmp
}

syscalls_one() {   # syscalls_one BENCH TARGET PID [wrk args]
    local bench=$1 target=$2 pid=$3; shift 3
    local file="$WORK/$bench-$target.count" counter out requests
    ensure http "$target"
    [ "$target" = switchman ] && pid=$SW_PID
    [ "$target" = haproxy ] && pid=$HA_PID
    if [ "$COUNTER" = perf ]; then
        perf stat -x, -e "$SYSCALL_EVENTS" -p "$pid" -o "$file" &
    else
        strace -c -f -p "$pid" -o "$file" &
    fi
    counter=$!
    sleep 0.5
    # Every TCP segment the machine sent meanwhile (loopback: client, proxy and server sockets alike).
    local segments_before segments_after
    segments_before=$(tcp_out_segments)
    out=$(wrk_run "$target" "$SYS_DUR" "$@")
    segments_after=$(tcp_out_segments)
    kill -INT "$counter"; wait "$counter" 2>/dev/null || true
    requests=$(wrk_requests <<< "$out")
    [ -n "$requests" ] && [ "$requests" -gt 0 ] &&
        record "$bench" "$target" 0 tcp_segments "$(awk -v a="$segments_after" -v b="$segments_before" -v r="$requests" 'BEGIN { printf "%.3f", (a - b) / r }')"
    local name value
    while IFS=$'\t' read -r name value; do
        record "$bench" "$target" 0 "$name" "$value"
    done < <("$PY" "$BENCH/tools.py" "$( [ "$COUNTER" = perf ] && echo perf-stat || echo strace-c )" "$file" "$requests")
    log "  $bench $target: $requests requests counted with $COUNTER"
}

bench_syscalls() {
    log "syscalls per request ($COUNTER, ${SYS_DUR}s wrk runs)"
    syscalls_one syscalls-keepalive switchman 0
    syscalls_one syscalls-keepalive haproxy 0
    syscalls_one syscalls-connclose switchman 0 -H "Connection: close"
    syscalls_one syscalls-connclose haproxy 0 -H "Connection: close"
}

# ------------------------------------------------------------------------------------------------

{ has pgbench || has cpu || has pgconnect; } && start_postgres
{ has keepalive || has connclose || has syscalls; } && start_nginx
has bulk && start_iperf
if has cpu || has pgbench || has pgconnect || has keepalive || has connclose || has bulk || has syscalls; then
    start_proxies
    sanity_check
fi

has cpu && bench_cpu
has pgbench && bench_pgbench
has pgconnect && bench_pgconnect
has keepalive && bench_keepalive
has connclose && bench_connclose
has bulk && bench_bulk
has syscalls && bench_syscalls
has rss && bench_rss

META="$WORK/meta.tsv"
pg_version=$("$PGBIN/postgres" --version | awk '{ print $3 }')
{
    printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'args\t%s\n' "$ARGS"
    printf 'rounds\t%s\n' "$ROUNDS"
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'cpu\t%s\n' "$(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
    printf 'kernel\t%s\n' "$(uname -r)"
    printf 'memory\t%s\n' "$(free -g | awk '/^Mem:/ { print $2 " GB" }')"
    printf 'versions\t%s\n' "Switchman $("$SWITCHMAN" --version 2>&1 | head -1) (release build), $(haproxy -v | head -1 | awk '{ print "HAProxy " $3 }'), PostgreSQL $pg_version, $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), $(wrk -v 2>&1 | head -1 | awk '{ print "wrk " $2 }'), $(iperf3 --version | head -1 | awk '{ print "iperf3 " $2 }')"
    printf 'settings\t%s\n' "$THREADS proxy threads (Switchman threads = HAProxy nbthread), nginx worker_processes $NGINX_WORKERS serving a 100-byte file, pgbench -S -j 2 at scale 10 for ${PG_DUR}s (CPU per transaction: -c 8 -R $RATE for ${CPU_DUR}s), wrk -t2 -c64 for ${WRK_DUR}s, iperf3 -t $IPERF_DUR; HAProxy without splice options (its default); Switchman log_sessions off, pipe_size 1MB; syscalls counted with $COUNTER over ${SYS_DUR}s wrk runs; targets rotated each round"
    printf 'pairs\t%s\n' "$PAIRS"
    printf 'rate\t%s\n' "$RATE"
} > "$META"

log "done in $(( $(date +%s) - START ))s"
if [ "$WRITE" = 1 ]; then
    "$PY" "$BENCH/tools.py" report "$RESULTS" "$META" "$OUT"
else
    "$PY" "$BENCH/tools.py" report "$RESULTS" "$META" -
fi
[ "$KEEP" = 1 ] && cp "$RESULTS" "$WORK/results.keep.tsv"
exit 0
