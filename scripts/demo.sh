#!/usr/bin/env bash
# The main job on one machine: install the packages, build Switchman (release), start the local Patroni
# cluster (ZooKeeper + two PostgreSQL 15 nodes on 127.0.0.1), write a proxy.conf for it and run
# Switchman in the foreground. Ctrl-C stops Switchman, then the cluster. As root.
#
#   scripts/demo.sh [--no-install] [--keep] [DIR]
#     DIR           where the cluster and proxy.conf live (default: run/demo in the repository, or
#                   /tmp/switchman-demo when the postgres user cannot enter the repository)
#     --no-install  skip scripts/install-deps.sh
#     --keep        leave the cluster running when Switchman exits (stop it: scripts/local-cluster.sh stop DIR/cluster)
#
# Ports: 5432 (writes), 5433 (reads) and 7000 (stats) when free, else free ones; all printed.
# SWITCHMAN_BIN=path runs that binary instead of building one.
set -euo pipefail
SM_SCRIPT=demo.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)

install=1 keep=0 dir=""
for arg in "$@"; do
    case "$arg" in
        --no-install) install=0 ;;
        --keep) keep=1 ;;
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

mapfile -t ports < <(sm_free_ports 3 5432 5433 7000)
PRIMARY=${ports[0]} REPLICAS=${ports[1]} STATS=${ports[2]}
CONF="$DIR/proxy.conf"
cat > "$CONF" <<CONF
# written by scripts/demo.sh for the local cluster in $CLUSTER
cluster:
  scope: $SCOPE
  namespace: $NAMESPACE
  zookeeper: { hosts: ["127.0.0.1:$ZK_PORT"], session_timeout: 10s }
  check: { user: $PGUSER, password: $PGPASSWORD }
  hold_timeout: 30s
  hold_max: 1000

listeners:
  - { name: primary,  bind: "127.0.0.1:$PRIMARY", role: primary }
  - { name: replicas, bind: "127.0.0.1:$REPLICAS", role: replica, max_lag: 16MB, fallback: primary, balance: roundrobin }

stats: { bind: "127.0.0.1:$STATS" }
CONF

cat <<INFO

  Switchman in front of Patroni cluster '$SCOPE' (ZooKeeper 127.0.0.1:$ZK_PORT):
    writes:  PGPASSWORD=$PGPASSWORD psql -h 127.0.0.1 -p $PRIMARY -U $PGUSER
    reads:   PGPASSWORD=$PGPASSWORD psql -h 127.0.0.1 -p $REPLICAS -U $PGUSER
    stats:   http://127.0.0.1:$STATS/
  Try a failover from another shell:
    scripts/local-cluster.sh stop-node $CLUSTER 1      (or kill-node, switchover, status)
  Configuration: $CONF — Ctrl-C stops Switchman$( (( keep )) || echo ' and the cluster').

INFO
"$BIN" run --config "$CONF"
