#!/usr/bin/env bash
# A standalone ZooKeeper server on 127.0.0.1 for tests, from Debian's `zookeeper` package.
#
#   scripts/zookeeper.sh start   DIR   start (or reuse the port of a previous run in DIR); writes DIR/zk.env
#   scripts/zookeeper.sh stop    DIR   SIGTERM, then wait; idempotent
#   scripts/zookeeper.sh restart DIR [DOWN_SECONDS]   stop, stay down DOWN_SECONDS (default 0), start on
#                                      the same port with the same data (sessions survive a short restart)
#   scripts/zookeeper.sh status  DIR   the server's `srvr` answer
#
# DIR/zk.env: ZK_HOST ZK_PORT ZK_HOSTS ZK_TICK_TIME ZK_PID_FILE ZK_LOG ZK_DIR
# Environment: ZK_TICK_TIME (default 500 ms: the server caps session timeouts at 20 x tickTime, so a
# crashed client's ephemeral znodes vanish within 10 s), ZK_PORT (preferred port), ZK_START_TIMEOUT (30 s).
set -euo pipefail
SM_SCRIPT=zookeeper.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ZK_JAR=${ZK_JAR:-/usr/share/java/zookeeper.jar}
ZK_CLASSPATH="$ZK_JAR:/usr/share/java/slf4j-simple.jar"
ZK_MAIN=org.apache.zookeeper.server.ZooKeeperServerMain

# zk_four_letter PORT WORD — a four-letter-word command's answer.
zk_four_letter() {
    printf '%s' "$2" | timeout 3 nc -q 1 127.0.0.1 "$1" 2>/dev/null
}
zk_serving() { zk_four_letter "$1" srvr | grep -q '^Mode: standalone'; }

zk_start() {
    local dir; dir=$(sm_abs_dir "$1")
    sm_require_cmd java nc
    [[ -r "$ZK_JAR" ]] || sm_die "$ZK_JAR not found (install Debian's zookeeper package)"
    local env="$dir/zk.env" pidfile="$dir/zookeeper.pid" log="$dir/zookeeper.log"
    local pid
    if pid=$(sm_pidfile_alive "$pidfile" "$ZK_MAIN"); then
        sm_log "already running (pid $pid, port $(sm_env_get "$env" ZK_PORT)); nothing to do"
        return 0
    fi
    local tick=${ZK_TICK_TIME:-500}
    local wanted=${ZK_PORT:-$(sm_env_get "$env" ZK_PORT || true)}
    local port; port=$(sm_free_ports 1 "${wanted:-0}")
    if [[ -n "$wanted" && "$port" != "$wanted" ]]; then
        if [[ "${ZK_SAME_PORT:-0}" == 1 ]]; then
            # a restart: clients know only the old port, so wait for it rather than move
            sm_wait_until 15 "port $wanted to be free again" sm_port_free "$wanted" ||
                sm_die "port $wanted stays taken; cannot restart ZooKeeper on it"
            port=$wanted
        else
            sm_log "port $wanted is taken; using $port"
        fi
    fi
    mkdir -p "$dir/data"
    cat > "$dir/zoo.cfg" <<CFG
# written by scripts/zookeeper.sh
tickTime=$tick
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,cons
CFG
    local t0; t0=$(sm_clock)
    # `exec` on java itself so that $! is the JVM's pid. A small heap and C1 only: it starts faster
    # and a test ZooKeeper needs neither.
    (
        cd "$dir"
        exec java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
            -Djava.net.preferIPv4Stack=true -Dzookeeper.admin.enableServer=false \
            -cp "$ZK_CLASSPATH" "$ZK_MAIN" "$dir/zoo.cfg"
    ) >>"$log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$pidfile"
    sm_write_env "$env" ZK_HOST=127.0.0.1 "ZK_PORT=$port" "ZK_HOSTS=127.0.0.1:$port" "ZK_TICK_TIME=$tick" \
        "ZK_PID_FILE=$pidfile" "ZK_LOG=$log" "ZK_DIR=$dir"
    local timeout=${ZK_START_TIMEOUT:-30} deadline=$((SECONDS + ${ZK_START_TIMEOUT:-30}))
    until zk_serving "$port"; do
        if ! sm_pid_alive "$pid" "$ZK_MAIN"; then
            sm_tail_log "$log"
            sm_die "ZooKeeper exited during start-up (log: $log)"
        fi
        if (( SECONDS >= deadline )); then
            sm_tail_log "$log"
            sm_stop_pid "$pid" "$ZK_MAIN" 10 || true
            sm_die "ZooKeeper did not serve on 127.0.0.1:$port within ${timeout}s (log: $log)"
        fi
        sleep 0.1
    done
    sm_log "ZooKeeper serving on 127.0.0.1:$port (pid $pid, tickTime ${tick} ms) in $(sm_elapsed "$t0") s"
}

zk_stop() {
    local dir=$1 pid
    [[ -n "$dir" ]] || sm_die "missing DIR"
    [[ -d "$dir" ]] || return 0
    if pid=$(sm_pidfile_alive "$dir/zookeeper.pid" "$ZK_MAIN"); then
        sm_stop_pid "$pid" "$ZK_MAIN" 15 || sm_die "could not stop ZooKeeper pid $pid"
        sm_log "ZooKeeper stopped (pid $pid)"
    fi
    rm -f "$dir/zookeeper.pid"
}

zk_status() {
    local dir=$1 port
    port=$(sm_env_get "$dir/zk.env" ZK_PORT) || sm_die "no $dir/zk.env: not started here"
    if zk_four_letter "$port" srvr; then echo; return 0; fi
    echo "ZooKeeper on 127.0.0.1:$port does not answer"
    return 1
}

usage() { sm_usage "$0"; exit 2; }

case "${1:-}" in
    start) [[ $# -eq 2 ]] || usage; zk_start "$2" ;;
    stop) [[ $# -eq 2 ]] || usage; zk_stop "$2" ;;
    restart)
        [[ $# -ge 2 ]] || usage
        zk_stop "$2"
        if [[ -n "${3:-}" ]]; then sleep "$3"; fi
        ZK_SAME_PORT=1 zk_start "$2"
        ;;
    status) [[ $# -eq 2 ]] || usage; zk_status "$2" ;;
    *) usage ;;
esac
