#!/usr/bin/env bash
# Failover benchmark: Switchman beside HAProxy (configured as Patroni recommends) in front of the same
# local Patroni cluster (scripts/local-cluster.sh: ZooKeeper + two PostgreSQL 15 nodes on 127.0.0.1).
# For a graceful stop (SIGTERM of the leader's Patroni), a crash (SIGKILL of Patroni and the postmaster)
# and a switchover it measures, from the moment the stop/kill/switchover is issued: the new leader
# znode, the promotion (first pg_is_in_recovery() = false seen directly on the new node), the first
# write acknowledged on the new leader through each proxy; failed attempts; writes that hit a read-only
# node; acknowledged writes lost. One writer per proxy commits a row every 50 ms (bench/failover.py).
# Needs root (Patroni and PostgreSQL run as postgres).
#
#   bench/failover.sh [--runs N] [--scenarios "stop kill switchover"] [--out FILE] [--keep] [DIR]
#     DIR          where the cluster, configs, logs and per-run JSON go (default: a new /tmp folder)
#     --runs N     repeat each scenario N times (default 1)
#     --out FILE   the Markdown results (default: BENCHMARKS-failover.md in the repository)
#     --keep       leave the cluster, HAProxy and Switchman running at the end
#
# SWITCHMAN_BIN=path uses that binary; otherwise a release build is made (swift build -c release).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SM_SCRIPT=failover.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
LC="$ROOT/scripts/local-cluster.sh"

runs=1 scenarios="stop kill switchover" out="$ROOT/BENCHMARKS-failover.md" keep=0 dir=""
while (( $# )); do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --scenarios) scenarios=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sm_usage "$0"; exit 0 ;;
        -*) sm_die "unknown option $1 (see --help)" ;;
        *) dir=$1; shift ;;
    esac
done
[[ $EUID -eq 0 ]] || sm_die "run as root (Patroni and PostgreSQL run as the postgres user)"
sm_require_cmd haproxy curl
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || sm_die "--runs takes a positive number"
DIR=$(sm_abs_dir "${dir:-$(mktemp -d /tmp/switchman-failover.XXXXXX)}")
chmod 755 "$DIR"
CLUSTER="$DIR/cluster"

BIN=$(sm_switchman_binary "$ROOT")
if [[ -n "${SWITCHMAN_BIN:-}" ]]; then
    case "$BIN" in */release/*) BUILD="release (SWITCHMAN_BIN)" ;; */debug/*) BUILD="debug (SWITCHMAN_BIN)" ;; *) BUILD="SWITCHMAN_BIN=$BIN" ;; esac
else
    BUILD="release"
fi

HAPROXY_PID="" SWITCHMAN_PID=""
cleanup() {
    local rc=$?
    if (( keep )); then
        sm_log "left running: HAProxy ${HAPROXY_PID:-none}, Switchman ${SWITCHMAN_PID:-none}, cluster $CLUSTER"
        return
    fi
    [[ -n "$SWITCHMAN_PID" ]] && sm_stop_pid "$SWITCHMAN_PID" switchman 15 TERM || true
    [[ -n "$HAPROXY_PID" ]] && sm_stop_pid "$HAPROXY_PID" haproxy 15 TERM || true
    "$LC" stop "$CLUSTER" >/dev/null 2>&1 || true
    (( rc == 0 )) || sm_log "failed; logs kept in $DIR"
}
trap cleanup EXIT

sm_cluster_up "$CLUSTER"
# shellcheck disable=SC1091
source "$CLUSTER/cluster.env"

mapfile -t ports < <(sm_free_ports 4)
SM_PRIMARY=${ports[0]} SM_REPLICA=${ports[1]} SM_STATS=${ports[2]} HA_PRIMARY=${ports[3]}

# Patroni's recommended HAProxy configuration (its haproxy.cfg example, as DESIGN.md quotes it):
# health-check /primary on the REST port every 3 s, 3 failures down, 2 successes up, and the
# sessions of a server marked down are shut.
cat > "$DIR/haproxy.cfg" <<CFG
# written by bench/failover.sh
global
    maxconn 1000
defaults
    mode tcp
    retries 2
    timeout connect 4s
    timeout queue 35s
    timeout client 30m
    timeout server 30m
    timeout check 5s
listen primary
    bind 127.0.0.1:$HA_PRIMARY
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions
    server $NODE1_NAME 127.0.0.1:$NODE1_PG_PORT maxconn 100 check port $NODE1_API_PORT
    server $NODE2_NAME 127.0.0.1:$NODE2_PG_PORT maxconn 100 check port $NODE2_API_PORT
CFG

cat > "$DIR/switchman.yml" <<CFG
# written by bench/failover.sh
threads: 2
listeners:
  - { name: primary, bind: "127.0.0.1:$SM_PRIMARY", role: primary }
  - { name: replicas, bind: "127.0.0.1:$SM_REPLICA", role: replica, fallback: primary }
stats: { bind: "127.0.0.1:$SM_STATS" }
cluster:
  scope: $SCOPE
  namespace: $NAMESPACE
  zookeeper: { hosts: ["$ZK_HOSTS"], session_timeout: 10s }
  check: { user: $PGUSER, password: $PGPASSWORD }
  hold_timeout: 30s
CFG

haproxy -f "$DIR/haproxy.cfg" -db >>"$DIR/haproxy.log" 2>&1 </dev/null &
HAPROXY_PID=$!
# SWITCHMAN_* variables are configuration overrides to Switchman, which refuses unknown ones: keep ours out
env -u SWITCHMAN_BIN "$BIN" run --config "$DIR/switchman.yml" >>"$DIR/switchman-sessions.log" 2>>"$DIR/switchman.log" </dev/null &
SWITCHMAN_PID=$!
sm_log "HAProxy (pid $HAPROXY_PID) on 127.0.0.1:$HA_PRIMARY, Switchman (pid $SWITCHMAN_PID, $BIN) on 127.0.0.1:$SM_PRIMARY; logs in $DIR"

both_ready() {
    sm_pid_alive "$SWITCHMAN_PID" switchman || { sm_tail_log "$DIR/switchman.log"; sm_die "Switchman exited"; }
    sm_pid_alive "$HAPROXY_PID" haproxy || { sm_tail_log "$DIR/haproxy.log"; sm_die "HAProxy exited"; }
    curl -sf -m 2 "http://127.0.0.1:$SM_STATS/primary" >/dev/null &&
        PGPASSWORD=$PGPASSWORD PGCONNECT_TIMEOUT=3 psql -X -q -h 127.0.0.1 -p "$HA_PRIMARY" -U "$PGUSER" -d postgres \
            -Atc 'select pg_is_in_recovery()' 2>/dev/null | grep -qx f
}

results=()
for ((run = 1; run <= runs; run++)); do
    for scenario in $scenarios; do
        "$LC" wait-healthy "$CLUSTER" 180
        # HAProxy needs rise 2 × inter 3 s to bring a server back up: wait until both proxies route writes
        both_ready >/dev/null 2>&1 || true  # dies here when a proxy exited
        sm_wait_until 60 "both proxies to route writes to the leader" both_ready || sm_die "a proxy does not route writes"
        json="$DIR/result-$scenario-$run.json"
        sm_log "run $run: $scenario"
        "$SM_PY" "$BENCH_DIR/failover.py" run --env "$CLUSTER/cluster.env" --local-cluster "$LC" --scenario "$scenario" \
            --proxy "switchman=127.0.0.1:$SM_PRIMARY" --proxy "haproxy=127.0.0.1:$HA_PRIMARY" \
            --stats-url "http://127.0.0.1:$SM_STATS/stats.json" --out "$json"
        results+=("$json")
        if [[ "$scenario" != switchover ]]; then
            # the stopped/crashed node comes back; Patroni makes it a replica (no failback)
            old=$("$SM_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["old_leader"])' "$json")
            "$LC" start-node "$CLUSTER" "${old#node}"
        fi
    done
done
"$LC" wait-healthy "$CLUSTER" 180 || true

# Whatever follows KEEP_MARK in the results file was measured elsewhere (the integration suite): kept.
KEEP_MARK='<!-- measured elsewhere, kept by bench/failover.sh: -->'
kept=""
if [[ -f "$out" ]]; then kept=$(awk -v m="$KEEP_MARK" 'index($0, m) == 1 { found = 1 } found { print }' "$out"); fi
{
    echo "# Failover: Switchman beside HAProxy"
    echo
    echo "Measured by \`bench/failover.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))."
    echo "Local cluster from \`scripts/local-cluster.sh\`: ZooKeeper (tickTime $ZK_TICK_TIME ms) and two Patroni $(patroni --version 2>/dev/null | awk '{print $2}') nodes with"
    echo "PostgreSQL 15 on 127.0.0.1, \`synchronous_mode: true\`, ttl $PATRONI_TTL s, loop_wait $PATRONI_LOOP_WAIT s, retry_timeout $PATRONI_RETRY_TIMEOUT s."
    echo "Switchman: $BUILD build, \`session_timeout: 10s\`, default promotion probe interval. HAProxy $(haproxy -v | awk 'NR==1 {print $3}') as Patroni recommends:"
    echo "\`option httpchk OPTIONS /primary\`, \`http-check expect status 200\`, \`default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions\`."
    echo
    echo "One writer per proxy commits a row every 50 ms (autocommit, unique id, reconnecting after any error)."
    echo "All times in seconds from the moment the stop (SIGTERM of the leader's Patroni), crash (SIGKILL of its"
    echo "Patroni and postmaster) or switchover (\`POST /switchover\`) is issued. *Promotion* is the first"
    echo "\`pg_is_in_recovery() = false\` seen by a direct connection polling the new node every 10 ms."
    echo "*Failed attempts* counts every write that did not commit, by kind: \`lost\` = the connection broke under"
    echo "the statement, \`connect\` = the connect through the proxy failed, \`shutting_down\` = the connect met"
    echo "57P03, \`read_only\` = the statement reached a node in recovery (25006). *Lost* = acknowledged ids"
    echo "missing on the new leader afterwards. *After the first write on the new leader* counts failures once"
    echo "writes flowed again: a session to the new leader closed under the writer."
    echo
    "$SM_PY" "$BENCH_DIR/failover.py" report "${results[@]}"
    if [[ -n "$kept" ]]; then echo; printf '%s\n' "$kept"; fi
} > "$out"
sm_log "results in $out"
cat "$out"
