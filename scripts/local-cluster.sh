#!/usr/bin/env bash
# A local Patroni cluster on 127.0.0.1 from Debian's packages: one ZooKeeper and two Patroni nodes with
# PostgreSQL 15 (the seed's two-node cluster, without Docker). Needs root (Patroni runs as postgres).
#
#   scripts/local-cluster.sh start DIR            start ZooKeeper + node1 (first leader) + node2; wait until
#                                                 healthy; writes DIR/cluster.env. A DIR left by `stop` is
#                                                 started again with its data.
#   scripts/local-cluster.sh stop DIR             SIGTERM both Patroni nodes (replica first), then ZooKeeper;
#                                                 idempotent
#   scripts/local-cluster.sh status DIR           Patroni's /cluster view and the leader znode
#   scripts/local-cluster.sh wait-healthy DIR [TIMEOUT_S]   one /primary 200, one /replica 200, a sync_standby
#   scripts/local-cluster.sh leader DIR           the leader's name (ZooKeeper's leader znode, else REST)
#   scripts/local-cluster.sh kill-node DIR N      SIGKILL node N's Patroni and its PostgreSQL (a crash)
#   scripts/local-cluster.sh stop-node DIR N [--no-wait]   SIGTERM node N's Patroni (like `docker stop`) and
#                                                 wait until it and its PostgreSQL are gone (or return at once)
#   scripts/local-cluster.sh start-node DIR N     start node N's Patroni again (does not wait)
#   scripts/local-cluster.sh switchover DIR [CANDIDATE]     POST /switchover to the leader (waits for Patroni's answer)
#   scripts/local-cluster.sh restart-node DIR N [TIMEOUT_S] POST /restart to node N's Patroni (PostgreSQL restarts,
#                                                 Patroni keeps its role and the leader key); waits until
#                                                 Patroni answers and says `running` (90 s by default)
#   scripts/local-cluster.sh kill-postgres DIR N  SIGKILL node N's postmaster and its children, Patroni left
#                                                 running (it starts PostgreSQL again); returns once they are gone
#   scripts/local-cluster.sh restart-zk DIR [DOWN_SECONDS]  stop ZooKeeper, stay down, start it on the same port
#   scripts/local-cluster.sh env DIR              print DIR/cluster.env
#
# Environment: PATRONI_TTL (10), PATRONI_LOOP_WAIT (2), PATRONI_RETRY_TIMEOUT (4) — Patroni needs
# ttl >= loop_wait + 2 * retry_timeout; ZK_TICK_TIME (500 ms); CLUSTER_SCOPE (switchman_test);
# START_TIMEOUT (180 s); KEEP_ON_FAILURE=1 leaves a failed start running for inspection.
set -euo pipefail
SM_SCRIPT=local-cluster.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCOPE=${CLUSTER_SCOPE:-switchman_test}
NAMESPACE=/service
TTL=${PATRONI_TTL:-10}
LOOP_WAIT=${PATRONI_LOOP_WAIT:-2}
RETRY_TIMEOUT=${PATRONI_RETRY_TIMEOUT:-4}
SUPERUSER=postgres
SUPERPASS=postgres
REPLUSER=replicator
REPLPASS=rep-pass
PATRONI_BIN=${PATRONI_BIN:-/usr/bin/patroni}
NODES=(1 2)

usage() { sm_usage "$0"; exit 2; }

# ---- state of a cluster folder -------------------------------------------------------------------

load_env() {
    # Absolute: start_patroni changes into the node's folder before it hands Patroni its config path.
    DIR=$(cd "$1" 2>/dev/null && pwd -P) || sm_die "$1: no such folder"
    ENV_FILE="$DIR/cluster.env"
    [[ -f "$ENV_FILE" ]] || sm_die "$ENV_FILE not found: no cluster was started in $DIR"
    # shellcheck disable=SC1090
    source "$ENV_FILE"
}

node_var() { local v="NODE$1_$2"; echo "${!v}"; }
node_api() { echo "127.0.0.1:$(node_var "$1" API_PORT)"; }
all_apis() { local n; for n in "${NODES[@]}"; do node_api "$n"; done; }
patroni_pid() { sm_pidfile_alive "$(node_var "$1" PID_FILE)" patroni; }

# The postmaster's pid from its data folder (first line of postmaster.pid), when that process lives.
postmaster_pid() {
    local data; data=$(node_var "$1" DATA_DIR)
    [[ -f "$data/postmaster.pid" ]] || return 1
    local pid; pid=$(head -n 1 "$data/postmaster.pid")
    # its command line names its data folder: a stale file's recycled pid is never taken for ours
    sm_pid_alive "$pid" "$data" || return 1
    echo "$pid"
}

check_node_arg() {
    [[ "${1:-}" =~ ^[12]$ ]] || sm_die "node number must be 1 or 2, not '${1:-}'"
}

# ---- configuration -----------------------------------------------------------------------------

write_patroni_yml() {
    local n=$1 dir=$2 zk_port=$3 pg_port=$4 api_port=$5 sock=$6
    local nd="$dir/node$n"
    cat > "$nd/patroni.yml" <<YML
# written by scripts/local-cluster.sh — the seed's postgres$((n - 1)).yml on loopback, with short timeouts
scope: $SCOPE
namespace: $NAMESPACE
name: node$n

log:
  level: INFO

restapi:
  listen: 127.0.0.1:$api_port
  connect_address: 127.0.0.1:$api_port

zookeeper:
  hosts:
    - 127.0.0.1:$zk_port

bootstrap:
  dcs:
    ttl: $TTL
    loop_wait: $LOOP_WAIT
    retry_timeout: $RETRY_TIMEOUT
    maximum_lag_on_failover: 10485760
    primary_start_timeout: 300
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_keep_size: 128MB
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
        max_connections: 200
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8

postgresql:
  listen: 127.0.0.1:$pg_port
  connect_address: 127.0.0.1:$pg_port
  data_dir: $nd/data
  bin_dir: $SM_PG_BIN
  pgpass: $nd/pgpass
  authentication:
    replication:
      username: $REPLUSER
      password: $REPLPASS
    superuser:
      username: $SUPERUSER
      password: $SUPERPASS
  parameters:
    unix_socket_directories: '$sock'
  # a fast checkpoint: the default spread one makes a new replica wait minutes for its base backup
  basebackup:
    checkpoint: fast
  pg_hba:
    - local all all md5
    - host replication $REPLUSER 127.0.0.1/32 md5
    - host all all 127.0.0.1/32 md5
    - host replication $REPLUSER ::1/128 md5
    - host all all ::1/128 md5

watchdog:
  mode: "off"

tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
YML
}

# ---- processes ---------------------------------------------------------------------------------

start_patroni() {
    local n=$1 pid
    local nd="$DIR/node$n"
    if pid=$(patroni_pid "$n"); then
        sm_log "node$n's Patroni is already running (pid $pid)"
        return 0
    fi
    # a crashed node may have left its postmaster running without Patroni: Patroni would adopt it,
    # but a half-dead one blocks the port, so say so
    if pid=$(postmaster_pid "$n"); then
        sm_log "node$n's PostgreSQL (pid $pid) runs without Patroni; Patroni will take it over"
    fi
    (
        cd "$nd"
        sm_as_postgres "$PATRONI_BIN" "$nd/patroni.yml"
    ) >>"$nd/patroni.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$nd/patroni.pid"
    sm_log "node$n: Patroni started (pid $pid, PostgreSQL 127.0.0.1:$(node_var "$n" PG_PORT), REST $(node_api "$n"), log $nd/patroni.log)"
}

stop_patroni() {
    local n=$1 pid timeout=${2:-90}
    if pid=$(patroni_pid "$n"); then
        local t0; t0=$(sm_clock)
        # Patroni stops PostgreSQL (fast shutdown) and releases the leader key before it exits
        sm_stop_pid "$pid" patroni "$timeout" TERM || sm_die "node$n's Patroni (pid $pid) did not exit"
        sm_log "node$n: Patroni stopped (pid $pid) in $(sm_elapsed "$t0") s"
    fi
    rm -f "$(node_var "$n" PID_FILE)"
    # PostgreSQL left behind by a Patroni that was killed: stop it too
    if pid=$(postmaster_pid "$n"); then
        sm_log "node$n: PostgreSQL (pid $pid) outlived Patroni; stopping it"
        ( sm_as_postgres "$SM_PG_BIN/pg_ctl" stop -D "$(node_var "$n" DATA_DIR)" -m fast -w -t 60 ) >/dev/null 2>&1 ||
            sm_stop_pid "$pid" "$(node_var "$n" DATA_DIR)" 30 QUIT || true
    fi
}

kill_node() {
    local n=$1 ppid mpid victims=()
    ppid=$(patroni_pid "$n") && victims+=("$ppid")
    if mpid=$(postmaster_pid "$n"); then
        victims+=("$mpid")
        # the postmaster's children too: a real crash takes the backends with it, and a backend that
        # outlives its postmaster may still answer a query for a moment
        local child
        for child in $(ps -o pid= --ppid "$mpid" 2>/dev/null || cat "/proc/$mpid/task/"*/children 2>/dev/null); do
            victims+=("$child")
        done
    fi
    if (( ${#victims[@]} == 0 )); then
        sm_log "node$n: nothing running to kill"
        return 0
    fi
    kill -KILL "${victims[@]}" 2>/dev/null || true
    [[ -n "${ppid:-}" ]] && sm_wait_until 10 "node$n's Patroni to die" sm_pid_gone "$ppid" patroni
    [[ -n "${mpid:-}" ]] && sm_wait_until 10 "node$n's postmaster to die" sm_pid_gone "$mpid" "$(node_var "$n" DATA_DIR)"
    rm -f "$(node_var "$n" PID_FILE)"
    sm_log "node$n: killed with SIGKILL (Patroni ${ppid:-none}, postmaster ${mpid:-none}, $(( ${#victims[@]} )) processes)"
}

# A crash of PostgreSQL alone: Patroni notices on its next loop and starts it again (a leader keeps
# the key: primary_start_timeout). The children die with the postmaster, as in kill_node.
kill_postgres() {
    local n=$1 mpid
    patroni_pid "$n" >/dev/null || sm_die "node$n's Patroni is not running: nothing would start PostgreSQL again"
    mpid=$(postmaster_pid "$n") || sm_die "node$n's PostgreSQL is not running"
    local victims=("$mpid") child
    for child in $(ps -o pid= --ppid "$mpid" 2>/dev/null || cat "/proc/$mpid/task/"*/children 2>/dev/null); do
        victims+=("$child")
    done
    kill -KILL "${victims[@]}" 2>/dev/null || true
    sm_wait_until 10 "node$n's postmaster to die" sm_pid_gone "$mpid" "$(node_var "$n" DATA_DIR)"
    sm_log "node$n: PostgreSQL killed with SIGKILL (postmaster $mpid, ${#victims[@]} processes); Patroni keeps running"
}

restart_node() {
    local n=$1 timeout=${2:-90} t0; t0=$(sm_clock)
    patroni_pid "$n" >/dev/null || sm_die "node$n's Patroni is not running"
    "$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" restart "$(node_api "$n")" --timeout "$timeout" ||
        sm_die "node$n: restart through Patroni failed or did not finish within ${timeout}s"
    sm_log "node$n: PostgreSQL restarted by Patroni in $(sm_elapsed "$t0") s"
}

health_once() { "$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" health "$@"; }

wait_healthy() {
    local timeout=${1:-120} t0; t0=$(sm_clock)
    local deadline=$((SECONDS + timeout)) last=""
    mapfile -t apis < <(all_apis)
    while true; do
        if last=$(health_once "${apis[@]}" 2>&1); then
            sm_log "cluster $SCOPE is $last (after $(sm_elapsed "$t0") s)"
            return 0
        fi
        local n
        for n in "${NODES[@]}"; do
            if [[ -f "$(node_var "$n" PID_FILE)" ]] && ! patroni_pid "$n" >/dev/null; then
                sm_tail_log "$DIR/node$n/patroni.log"
                sm_log "node$n's Patroni exited (log: $DIR/node$n/patroni.log)"
                return 1
            fi
        done
        if (( SECONDS >= deadline )); then
            sm_log "cluster not healthy after ${timeout}s: $last"
            for n in "${NODES[@]}"; do sm_tail_log "$DIR/node$n/patroni.log" 15; done
            return 1
        fi
        sleep 0.25
    done
}

node_is_primary() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$(node_api "$1")/primary" | grep -q '^200$'; }

# ---- commands ----------------------------------------------------------------------------------

cmd_start() {
    local t0; t0=$(sm_clock)
    [[ $EUID -eq 0 || "$(id -un)" == postgres ]] || sm_die "run as root (Patroni and PostgreSQL run as the postgres user)"
    sm_require_cmd java nc curl setpriv
    [[ -x "$PATRONI_BIN" ]] || sm_die "$PATRONI_BIN not found (install Debian's patroni package)"
    [[ -x "$SM_PG_BIN/postgres" ]] || sm_die "$SM_PG_BIN/postgres not found (install postgresql-15)"
    id postgres >/dev/null 2>&1 || sm_die "no postgres user (install postgresql-15)"
    (( TTL >= LOOP_WAIT + 2 * RETRY_TIMEOUT )) ||
        sm_die "Patroni needs ttl >= loop_wait + 2 * retry_timeout (got $TTL, $LOOP_WAIT, $RETRY_TIMEOUT)"

    DIR=$(sm_abs_dir "$1")
    ENV_FILE="$DIR/cluster.env"
    if [[ -f "$ENV_FILE" ]]; then
        # shellcheck disable=SC1090
        source "$ENV_FILE"
        local n
        for n in "${NODES[@]}"; do
            if patroni_pid "$n" >/dev/null; then sm_die "a cluster is already running in $DIR (stop it first)"; fi
        done
        sm_log "restarting the cluster left in $DIR"
    fi
    local fresh=1
    [[ -d "$DIR/node1/data" || -d "$DIR/node2/data" ]] && fresh=0

    # The folder and the node folders belong to postgres; ZooKeeper's stays ours.
    chmod 755 "$DIR"
    sm_chown_postgres "$DIR"
    sm_check_postgres_reach "$DIR"

    ZK_PORT=${ZK_PORT:-} ZK_TICK_TIME=${ZK_TICK_TIME:-500} "$SM_LIB_DIR/zookeeper.sh" start "$DIR/zk" ||
        sm_die "ZooKeeper did not start (log: $DIR/zk/zookeeper.log)"
    ZK_PORT=$(sm_env_get "$DIR/zk/zk.env" ZK_PORT)

    # Four ports at once so they differ; previous ones are kept when still free.
    local ports
    mapfile -t ports < <(sm_free_ports 4 "${NODE1_PG_PORT:-0}" "${NODE1_API_PORT:-0}" "${NODE2_PG_PORT:-0}" "${NODE2_API_PORT:-0}")
    local env_lines=(
        "CLUSTER_DIR=$DIR" "SCOPE=$SCOPE" "NAMESPACE=$NAMESPACE"
        "ZK_HOST=127.0.0.1" "ZK_PORT=$ZK_PORT" "ZK_HOSTS=127.0.0.1:$ZK_PORT"
        "ZK_PID_FILE=$DIR/zk/zookeeper.pid" "ZK_TICK_TIME=$(sm_env_get "$DIR/zk/zk.env" ZK_TICK_TIME)"
        "PGUSER=$SUPERUSER" "PGPASSWORD=$SUPERPASS" "PGDATABASE=postgres"
        "REPLICATION_USER=$REPLUSER" "REPLICATION_PASSWORD=$REPLPASS"
        "PATRONI_TTL=$TTL" "PATRONI_LOOP_WAIT=$LOOP_WAIT" "PATRONI_RETRY_TIMEOUT=$RETRY_TIMEOUT"
    )
    local n i=0
    for n in "${NODES[@]}"; do
        local nd="$DIR/node$n" pg_port=${ports[i]} api_port=${ports[i + 1]}
        i=$((i + 2))
        mkdir -p "$nd"
        local sock; sock=$(sm_socket_dir "$nd")
        write_patroni_yml "$n" "$DIR" "$ZK_PORT" "$pg_port" "$api_port" "$sock"
        sm_chown_postgres "$nd" "$sock"
        # readable by all, so that clients of any user reach the unix socket (initdb makes data/ 0700)
        chmod 755 "$nd" "$sock"
        env_lines+=("NODE${n}_NAME=node$n" "NODE${n}_PG_PORT=$pg_port" "NODE${n}_API_PORT=$api_port"
                    "NODE${n}_DATA_DIR=$nd/data" "NODE${n}_POSTMASTER_PID_FILE=$nd/data/postmaster.pid"
                    "NODE${n}_SOCKET_DIR=$sock" "NODE${n}_PID_FILE=$nd/patroni.pid"
                    "NODE${n}_LOG=$nd/patroni.log" "NODE${n}_CONFIG=$nd/patroni.yml")
    done
    # Written before anything waits, so that `stop` can clean up after a start that failed half-way.
    sm_write_env "$ENV_FILE" "${env_lines[@]}"
    # shellcheck disable=SC1090
    source "$ENV_FILE"

    local timeout=${START_TIMEOUT:-180}
    on_start_failure() {
        if [[ "${KEEP_ON_FAILURE:-0}" == 1 ]]; then
            sm_log "start failed; KEEP_ON_FAILURE=1 leaves everything running in $DIR"
        else
            sm_log "start failed; stopping what was started (KEEP_ON_FAILURE=1 keeps it)"
            cmd_stop "$DIR" || true
        fi
        exit 1
    }
    start_patroni 1
    if (( fresh )); then
        # node1 bootstraps alone first, so the first leader is always node1 (tests may rely on a known
        # start), and node2 then clones it
        local deadline=$((SECONDS + timeout))
        until node_is_primary 1; do
            if ! patroni_pid 1 >/dev/null; then
                sm_tail_log "$DIR/node1/patroni.log"
                sm_log "node1's Patroni exited while bootstrapping (log: $DIR/node1/patroni.log)"
                on_start_failure
            fi
            if (( SECONDS >= deadline )); then
                sm_tail_log "$DIR/node1/patroni.log"
                sm_log "node1 did not bootstrap and become the leader within ${timeout}s"
                on_start_failure
            fi
            sleep 0.25
        done
        sm_log "node1 is the leader after $(sm_elapsed "$t0") s"
    fi
    start_patroni 2
    wait_healthy "$timeout" || on_start_failure
    sm_log "cluster up in $(sm_elapsed "$t0") s; environment in $ENV_FILE"
}

cmd_stop() {
    local dir=$1
    if [[ ! -f "$dir/cluster.env" ]]; then
        # nothing was started here, or only ZooKeeper got that far
        [[ -f "$dir/zk/zookeeper.pid" ]] && "$SM_LIB_DIR/zookeeper.sh" stop "$dir/zk"
        sm_log "nothing running in $dir"
        return 0
    fi
    load_env "$dir"
    local t0; t0=$(sm_clock)
    # the replica first, so stopping the cluster does not cause a failover on the way
    local leader order=(2 1)
    leader=$("$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" leader-rest $(all_apis) 2>/dev/null || true)
    [[ "$leader" == node2 ]] && order=(1 2)
    local n
    for n in "${order[@]}"; do stop_patroni "$n"; done
    "$SM_LIB_DIR/zookeeper.sh" stop "$DIR/zk"
    for n in "${NODES[@]}"; do
        # a short socket folder made because DIR's path was too long for a unix socket
        local sock; sock=$(node_var "$n" SOCKET_DIR)
        [[ "$sock" == /tmp/sm-sock.* ]] && rm -rf "$sock"
    done
    sm_log "cluster in $DIR stopped in $(sm_elapsed "$t0") s"
}

cmd_status() {
    load_env "$1"
    "$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" cluster $(all_apis) || true
    local leader
    if ! sm_pidfile_alive "$ZK_PID_FILE" ZooKeeperServerMain >/dev/null; then
        echo "ZooKeeper: not running (port $ZK_PORT)"
    elif leader=$("$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" leader-zk "127.0.0.1:$ZK_PORT" "$NAMESPACE/$SCOPE/leader" 2>&1); then
        echo "leader znode $NAMESPACE/$SCOPE/leader: $leader"
    else
        echo "leader znode $NAMESPACE/$SCOPE/leader: absent ${leader:+($leader)}"
    fi
    local n pid
    for n in "${NODES[@]}"; do
        if pid=$(patroni_pid "$n"); then echo "node$n Patroni: running (pid $pid)"; else echo "node$n Patroni: not running"; fi
        if pid=$(postmaster_pid "$n"); then echo "node$n PostgreSQL: running (pid $pid, port $(node_var "$n" PG_PORT))"; else echo "node$n PostgreSQL: not running"; fi
    done
}

cmd_leader() {
    load_env "$1"
    local leader
    if sm_pidfile_alive "$ZK_PID_FILE" ZooKeeperServerMain >/dev/null &&
        leader=$("$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" leader-zk "127.0.0.1:$ZK_PORT" "$NAMESPACE/$SCOPE/leader" 2>/dev/null); then
        echo "$leader"
    elif leader=$("$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" leader-rest $(all_apis) 2>/dev/null); then
        echo "$leader"
    else
        sm_log "no leader (neither the leader znode nor any REST API names one)"
        return 1
    fi
}

cmd="${1:-}"
case "$cmd" in
    start) [[ $# -eq 2 ]] || usage; cmd_start "$2" ;;
    stop)
        [[ $# -eq 2 ]] || usage
        if [[ -d "$2" ]]; then cmd_stop "$(cd "$2" && pwd -P)"; else sm_log "no folder $2: nothing to stop"; fi
        ;;
    status) [[ $# -eq 2 ]] || usage; cmd_status "$2" ;;
    env) [[ $# -eq 2 ]] || usage; cat "$2/cluster.env" ;;
    wait-healthy) [[ $# -ge 2 ]] || usage; load_env "$2"; wait_healthy "${3:-120}" ;;
    leader) [[ $# -eq 2 ]] || usage; cmd_leader "$2" ;;
    kill-node) [[ $# -eq 3 ]] || usage; check_node_arg "$3"; load_env "$2"; kill_node "$3" ;;
    stop-node)
        [[ $# -eq 3 || ( $# -eq 4 && "$4" == --no-wait ) ]] || usage
        check_node_arg "$3"; load_env "$2"
        if [[ "${4:-}" == --no-wait ]]; then
            if pid=$(patroni_pid "$3"); then
                kill -TERM "$pid"
                sm_log "node$3: SIGTERM sent to Patroni (pid $pid); not waiting"
            fi
        else
            stop_patroni "$3"
        fi
        ;;
    start-node) [[ $# -eq 3 ]] || usage; check_node_arg "$3"; load_env "$2"; start_patroni "$3" ;;
    switchover)
        [[ $# -ge 2 ]] || usage; load_env "$2"
        "$SM_PY" "$SM_LIB_DIR/patroni_ctl.py" switchover $(all_apis) ${3:+--candidate "$3"}
        ;;
    restart-node)
        [[ $# -eq 3 || ( $# -eq 4 && "$4" =~ ^[0-9]+$ ) ]] || usage
        check_node_arg "$3"; load_env "$2"; restart_node "$3" "${4:-90}"
        ;;
    kill-postgres) [[ $# -eq 3 ]] || usage; check_node_arg "$3"; load_env "$2"; kill_postgres "$3" ;;
    restart-zk)
        [[ $# -ge 2 ]] || usage; load_env "$2"
        ZK_PORT=$ZK_PORT ZK_TICK_TIME=$ZK_TICK_TIME "$SM_LIB_DIR/zookeeper.sh" restart "$DIR/zk" "${3:-}"
        [[ "$(sm_env_get "$DIR/zk/zk.env" ZK_PORT)" == "$ZK_PORT" ]] ||
            sm_die "ZooKeeper came back on another port (its old one was taken); Patroni cannot follow"
        ;;
    *) usage ;;
esac
