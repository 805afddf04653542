#!/usr/bin/env bash
# The main job on one machine: install the packages, build Switchman (release), start the local Patroni
# cluster (ZooKeeper + two PostgreSQL 15 nodes on 127.0.0.1), write a proxy.conf for each of two
# Switchman instances and run both in the foreground. Ctrl-C stops them, then the cluster. As root.
#
#   scripts/demo.sh [--no-install] [--keep] [--any-ports] [DIR]
#     DIR           where the cluster and proxy.conf live (default: run/demo in the repository, or
#                   /tmp/switchman-demo when the postgres user cannot enter the repository)
#     --no-install  skip scripts/install-deps.sh
#     --keep        leave the cluster running when Switchman exits (stop it: scripts/local-cluster.sh stop DIR/cluster)
#     --any-ports   free ports drawn at random, not the usual ones below (tests: something else may take
#                   a well-known port between the probe and Switchman's bind)
#
# Two Switchman instances: 5432/5433/7000 and 6432/6433/7001 (writes/reads/stats) when free, else free
# ones; all printed, with the libpq multi-host form over both, and written to DIR/demo.env.
# SWITCHMAN_BIN=path runs that binary instead of building one.
set -euo pipefail
SM_SCRIPT=demo.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)

install=1 keep=0 any_ports=0 dir=""
for arg in "$@"; do
    case "$arg" in
        --no-install) install=0 ;;
        --keep) keep=1 ;;
        --any-ports) any_ports=1 ;;
        -h|--help) sm_usage "$0"; exit 0 ;;
        -*) sm_die "unknown option $arg (see --help)" ;;
        *) dir=$arg ;;
    esac
done
[[ $EUID -eq 0 ]] || sm_die "run as root (packages, and PostgreSQL runs as the postgres user)"
if [[ -z "$dir" ]]; then
    dir="$ROOT/run/demo"
    setpriv --reuid=postgres --regid=postgres --init-groups test -x "$ROOT" 2>/dev/null || dir=/tmp/switchman-demo
fi
DIR=$(sm_abs_dir "$dir")

(( install )) && "$SM_LIB_DIR/install-deps.sh"
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
sm_require_cmd swift

if [[ -n "${SWITCHMAN_BIN:-}" ]]; then
    BIN=$SWITCHMAN_BIN
else
    t0=$(sm_clock)
    sm_log "building Switchman (release)"
    (cd "$ROOT" && swift build -c release --product switchman)
    BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/switchman"
    sm_log "built $BIN in $(sm_elapsed "$t0") s"
fi
[[ -x "$BIN" ]] || sm_die "no switchman binary at $BIN"

CLUSTER="$DIR/cluster"
if [[ -f "$CLUSTER/cluster.env" ]] && "$SM_LIB_DIR/local-cluster.sh" wait-healthy "$CLUSTER" 1 >/dev/null 2>&1; then
    sm_log "reusing the cluster running in $CLUSTER"
else
    "$SM_LIB_DIR/local-cluster.sh" start "$CLUSTER"
fi
stop_cluster() {
    if (( keep )); then
        sm_log "cluster left running: scripts/local-cluster.sh stop $CLUSTER"
    else
        "$SM_LIB_DIR/local-cluster.sh" stop "$CLUSTER" || true
    fi
}
trap stop_cluster EXIT
# shellcheck disable=SC1091
source "$CLUSTER/cluster.env"

# Two Switchman instances in front of the same cluster, each on its own ports: no shared state, each
# follows the leader znode itself, so clients may list both (libpq multi-host).
if (( any_ports )); then
    mapfile -t ports < <(sm_free_ports 6)
else
    mapfile -t ports < <(sm_free_ports 6 5432 5433 7000 6432 6433 7001)
fi
write_conf() {  # write_conf N PRIMARY REPLICAS STATS
    cat > "$DIR/proxy-$1.conf" <<CONF
# written by scripts/demo.sh for the local cluster in $CLUSTER (instance $1 of 2)
cluster:
  scope: $SCOPE
  namespace: $NAMESPACE
  zookeeper: { hosts: ["127.0.0.1:$ZK_PORT"], session_timeout: 10s }
  check: { user: $PGUSER, password: $PGPASSWORD }
  hold_timeout: 30s
  hold_max: 1000

listeners:
  - { name: primary,  bind: "127.0.0.1:$2", role: primary }
  - { name: replicas, bind: "127.0.0.1:$3", role: replica, max_lag: 16MB, fallback: primary, balance: roundrobin }

stats: { bind: "127.0.0.1:$4" }
CONF
}
write_conf 1 "${ports[0]}" "${ports[1]}" "${ports[2]}"
write_conf 2 "${ports[3]}" "${ports[4]}" "${ports[5]}"
P1=${ports[0]} R1=${ports[1]} S1=${ports[2]} P2=${ports[3]} R2=${ports[4]} S2=${ports[5]}
# for scripts and tests: the ports of both instances
cat > "$DIR/demo.env" <<ENV
PRIMARY_1=$P1
REPLICAS_1=$R1
STATS_1=$S1
PRIMARY_2=$P2
REPLICAS_2=$R2
STATS_2=$S2
PGUSER=$PGUSER
PGPASSWORD=$PGPASSWORD
ENV

cat <<INFO

  Two Switchman instances in front of Patroni cluster '$SCOPE' (ZooKeeper 127.0.0.1:$ZK_PORT):
    instance 1: writes 127.0.0.1:$P1, reads 127.0.0.1:$R1, stats http://127.0.0.1:$S1/
    instance 2: writes 127.0.0.1:$P2, reads 127.0.0.1:$R2, stats http://127.0.0.1:$S2/
  Writes through either, or both (libpq multi-host: the first that answers and takes writes):
    PGPASSWORD=$PGPASSWORD psql "host=127.0.0.1,127.0.0.1 port=$P1,$P2 user=$PGUSER dbname=postgres target_session_attrs=read-write"
  Reads:
    PGPASSWORD=$PGPASSWORD psql "host=127.0.0.1,127.0.0.1 port=$R1,$R2 user=$PGUSER dbname=postgres"
  Try a failover from another shell (the seed's exercise: the stopped leader comes back as a replica;
  Patroni does not fail back on its own):
    scripts/local-cluster.sh stop-node $CLUSTER 1      (or kill-node, switchover, start-node, status)
  Stop one instance to see the multi-host form move to the other: kill \$(cat $DIR/switchman-1.pid)
  Logs: $DIR/switchman-1.log, $DIR/switchman-2.log (followed below). Ctrl-C stops both$( (( keep )) || echo ' and the cluster').

INFO
pids=()
for n in 1 2; do
    : > "$DIR/switchman-$n.log"
    "$BIN" run --config "$DIR/proxy-$n.conf" >> "$DIR/switchman-$n.log" 2>&1 &
    pids+=($!)
    echo "$!" > "$DIR/switchman-$n.pid"
done
tail -n +1 -F "$DIR/switchman-1.log" "$DIR/switchman-2.log" &
tail_pid=$!
# An instance that exits at start (a refused configuration or environment, a taken port) says why in
# its log; the demo stops instead of leaving the other one running alone.
stats_ports=("$S1" "$S2")
for n in 1 2; do
    up=0
    for _ in $(seq 1 100); do
        if ! kill -0 "${pids[n-1]}" 2>/dev/null; then break; fi
        if curl -s -o /dev/null -m 1 "http://127.0.0.1:${stats_ports[n-1]}/health"; then up=1; break; fi
        sleep 0.1
    done
    if (( ! up )); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        kill "$tail_pid" 2>/dev/null || true
        sm_die "instance $n did not start (its stats port ${stats_ports[n-1]} never answered); its log: $DIR/switchman-$n.log"
    fi
done
stop_all() {
    kill -TERM "${pids[@]}" 2>/dev/null || true
}
trap stop_all INT TERM
# Wait until both instances ended (one may be stopped on purpose while the other keeps serving).
for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
done
kill "$tail_pid" 2>/dev/null || true
rm -f "$DIR/switchman-1.pid" "$DIR/switchman-2.pid"
