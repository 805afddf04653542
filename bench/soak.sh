#!/usr/bin/env bash
# Soak: Switchman in front of the local Patroni cluster (scripts/local-cluster.sh) for a bounded time
# under load, through failovers and reloads (bench/soak.py does the run and says what it checks):
# a writer and pgbench (-C through the write port, -S through the read port), a Patroni switchover
# every 60 s, the leader killed once, a SIGHUP every 10 s alternating two configurations that differ in
# buffer sizes and a listener; Switchman's RSS, descriptors and CPU sampled every 10 s. Exits 1 when
# the verdict fails (a lost write, a write on a read-only node, a session dropped by a reload, a crash,
# RSS or descriptors growing). Needs root (Patroni and PostgreSQL run as postgres).
#
#   bench/soak.sh [--minutes M] [--out FILE] [--keep] [DIR]
#     --minutes M  length of the run (default 10; at most 60); the leader is killed at the middle
#     --out FILE   write the Markdown summary there as well (e.g. to paste into BENCHMARKS.md)
#     --keep       leave the cluster and Switchman running at the end
#     DIR          where the cluster, configurations, logs and the result JSON go (default: a new /tmp folder)
#
# SWITCHMAN_BIN=path uses that binary; otherwise a release build is made (swift build -c release).
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SM_SCRIPT=soak.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
LC="$ROOT/scripts/local-cluster.sh"

minutes=10 out="" keep=0 dir=""
while (( $# )); do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sm_usage "$0"; exit 0 ;;
        -*) sm_die "unknown option $1 (see --help)" ;;
        *) dir=$1; shift ;;
    esac
done
[[ $EUID -eq 0 ]] || sm_die "run as root (Patroni and PostgreSQL run as the postgres user)"
[[ "$minutes" =~ ^[1-9][0-9]*$ ]] && (( minutes <= 60 )) || sm_die "--minutes takes 1 to 60"
sm_require_cmd pgbench curl
DIR=$(sm_abs_dir "${dir:-$(mktemp -d /tmp/switchman-soak.XXXXXX)}")
chmod 755 "$DIR"
CLUSTER="$DIR/cluster"

BIN=$(sm_switchman_binary "$ROOT")

SWITCHMAN_PID=""
cleanup() {
    local rc=$?
    if (( keep )); then
        sm_log "left running: Switchman ${SWITCHMAN_PID:-none}, cluster $CLUSTER"
        return
    fi
    [[ -n "$SWITCHMAN_PID" ]] && sm_stop_pid "$SWITCHMAN_PID" switchman 15 TERM || true
    "$LC" stop "$CLUSTER" >/dev/null 2>&1 || true
    (( rc == 0 )) || sm_log "failed; logs kept in $DIR"
}
trap cleanup EXIT

sm_cluster_up "$CLUSTER"
# shellcheck disable=SC1091
source "$CLUSTER/cluster.env"

mapfile -t ports < <(sm_free_ports 4)
WRITE=${ports[0]} READ=${ports[1]} STATS=${ports[2]} EXTRA=${ports[3]}
# write_conf FILE BUFFER PIPE EXTRA_LISTENER: the two configurations the reloads alternate between
write_conf() {
    {
        echo "# written by bench/soak.sh"
        echo "threads: 2"
        echo "buffer_size: $2"
        echo "pipe_size: $3"
        echo "log_sessions: false"
        echo "listeners:"
        echo "  - { name: primary, bind: \"127.0.0.1:$WRITE\", role: primary }"
        echo "  - { name: replicas, bind: \"127.0.0.1:$READ\", role: replica, fallback: primary, balance: roundrobin }"
        (( $4 )) && echo "  - { name: fresh, bind: \"127.0.0.1:$EXTRA\", role: replica, max_lag: 16MB, fallback: primary }"
        echo "stats: { bind: \"127.0.0.1:$STATS\" }"
        echo "cluster:"
        echo "  scope: $SCOPE"
        echo "  namespace: $NAMESPACE"
        echo "  zookeeper: { hosts: [\"$ZK_HOSTS\"], session_timeout: 10s }"
        echo "  check: { user: $PGUSER, password: $PGPASSWORD }"
        echo "  hold_timeout: 30s"
    } > "$1"
}
write_conf "$DIR/soak-a.yml" 16KB 1MB 0
write_conf "$DIR/soak-b.yml" 64KB 256KB 1
"$BIN" check-config "$DIR/soak-a.yml" >/dev/null
"$BIN" check-config "$DIR/soak-b.yml" >/dev/null
cp "$DIR/soak-a.yml" "$DIR/switchman.yml"

# SWITCHMAN_* variables are configuration overrides to Switchman, which refuses unknown ones: keep ours out
env -u SWITCHMAN_BIN "$BIN" run --config "$DIR/switchman.yml" >>"$DIR/switchman-sessions.log" 2>>"$DIR/switchman.log" </dev/null &
SWITCHMAN_PID=$!
sm_log "Switchman (pid $SWITCHMAN_PID, $BIN): writes 127.0.0.1:$WRITE, reads 127.0.0.1:$READ, stats http://127.0.0.1:$STATS/; logs in $DIR"
routes_writes() {
    sm_pid_alive "$SWITCHMAN_PID" switchman || { sm_tail_log "$DIR/switchman.log"; sm_die "Switchman exited"; }
    curl -sf -m 2 "http://127.0.0.1:$STATS/primary" >/dev/null
}
"$LC" wait-healthy "$CLUSTER" 180
sm_wait_until 60 "Switchman to route writes to the leader" routes_writes || sm_die "Switchman does not route writes"

seconds=$(( minutes * 60 ))
sm_log "soak: $seconds s"
rc=0
"$SM_PY" "$BENCH_DIR/soak.py" run --env "$CLUSTER/cluster.env" --local-cluster "$LC" --pid "$SWITCHMAN_PID" \
    --config "$DIR/switchman.yml" --configs "$DIR/soak-a.yml,$DIR/soak-b.yml" \
    --write "127.0.0.1:$WRITE" --read "127.0.0.1:$READ" --stats "http://127.0.0.1:$STATS/stats.json" \
    --seconds "$seconds" --switchover-every 60 --kill-at $(( seconds / 2 + 20 )) --reload-every 10 \
    --out "$DIR/soak.json" || rc=$?
summary=$("$SM_PY" "$BENCH_DIR/soak.py" report "$DIR/soak.json")
echo "$summary"
[[ -n "$out" ]] && printf '%s\n' "$summary" > "$out"
if grep -qiE 'fatal error|Segmentation|Illegal instruction|Crash' "$DIR/switchman.log"; then
    sm_tail_log "$DIR/switchman.log"
    sm_log "Switchman's log shows a crash"
    rc=1
fi
"$LC" wait-healthy "$CLUSTER" 120 >/dev/null || true
exit "$rc"
