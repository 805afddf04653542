# shellcheck shell=bash
# Helpers shared by the scripts in this folder (sourced, never run).
# Every wait here is bounded; every failure says what failed and where its log is.

SM_SCRIPT=${SM_SCRIPT:-$(basename "$0")}

# Debian's python3 has kazoo and psycopg2 (Patroni's dependencies); another python3 on PATH may not.
if [[ -x /usr/bin/python3 ]]; then SM_PY=/usr/bin/python3; else SM_PY=python3; fi
SM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SM_PG_BIN=${PG_BIN_DIR:-/usr/lib/postgresql/15/bin}

sm_now() { date +%H:%M:%S.%3N; }
sm_log() { printf '[%s %s] %s\n' "$SM_SCRIPT" "$(sm_now)" "$*" >&2; }
sm_die() { printf '[%s %s] ERROR: %s\n' "$SM_SCRIPT" "$(sm_now)" "$*" >&2; exit 1; }

# Seconds since the epoch with milliseconds, for measuring steps.
sm_clock() { date +%s.%3N; }
sm_elapsed() { awk -v a="$1" -v b="$(sm_clock)" 'BEGIN { printf "%.1f", b - a }'; }

# sm_require_cmd CMD... — dies naming the missing command and the package that brings it.
sm_require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || sm_die "'$c' not found (run scripts/install-deps.sh as root)"
    done
}

# sm_abs_dir DIR — creates DIR and prints its absolute path. Paths with whitespace or quotes are refused
# because the .env files written here are plain KEY=value lines that tests parse without a shell.
sm_abs_dir() {
    local d=$1
    [[ -n "$d" ]] || sm_die "missing DIR argument"
    [[ "$d" =~ ^[A-Za-z0-9_./+@:=,-]+$ ]] || sm_die "DIR '$d' has characters other than [A-Za-z0-9_./+@:=,-]"
    mkdir -p "$d" || sm_die "cannot create $d"
    (cd "$d" && pwd -P)
}

# sm_free_ports N [PREFERRED...] — prints N distinct TCP ports free on 127.0.0.1, one per line.
# Each preferred port is used in its position when it is free. The others are drawn at random below the
# kernel's ephemeral range (ip_local_port_range): a port from that range may be taken as the local port
# of some outgoing connection (a benchmark's thousands of them) before our server binds it. All sockets
# are held until every port is chosen, so the N ports differ from each other.
sm_free_ports() {
    "$SM_PY" - "$@" <<'PY'
import random, socket, sys
n = int(sys.argv[1]); preferred = [int(p) for p in sys.argv[2:] if p]
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
held, ports = [], []
def try_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # as the servers do (ZooKeeper, PostgreSQL, Patroni): a port whose old connections linger in
    # TIME_WAIT is free for them, one that something listens on is not
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close(); return None
    held.append(s); return s.getsockname()[1]
for i in range(n):
    p = try_bind(preferred[i]) if i < len(preferred) and preferred[i] > 0 else None
    if p is None and low > 12000:
        for _ in range(200):
            p = try_bind(random.randrange(10000, low))
            if p is not None:
                break
    if p is None:
        p = try_bind(0)
    ports.append(p)
print("\n".join(str(p) for p in ports))
for s in held:
    s.close()
PY
}

# sm_port_free PORT — true when nothing listens on 127.0.0.1:PORT and it can be bound.
sm_port_free() {
    [[ "$(sm_free_ports 1 "$1")" == "$1" ]]
}

# sm_wait_until TIMEOUT_S DESCRIPTION CMD... — runs CMD every 0.2 s until it succeeds; fails after TIMEOUT_S.
sm_wait_until() {
    local timeout=$1 desc=$2; shift 2
    local deadline; deadline=$(( $(date +%s%N) / 1000000 + timeout * 1000 ))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if (( $(date +%s%N) / 1000000 >= deadline )); then
            sm_log "timed out after ${timeout}s waiting for: $desc"
            return 1
        fi
        sleep 0.2
    done
}

# sm_pid_alive PID PATTERN — the process exists and its command line contains PATTERN (guards against
# a recycled pid: we only ever signal processes this script started).
sm_pid_alive() {
    local pid=$1 pattern=$2
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    # A zombie still has /proc/PID but an empty cmdline and state Z: it is gone for our purposes.
    [[ "$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" != "Z" ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# sm_pidfile_alive FILE PATTERN — prints the pid in FILE when that process is alive.
sm_pidfile_alive() {
    local file=$1 pattern=$2 pid
    [[ -f "$file" ]] || return 1
    pid=$(<"$file")
    sm_pid_alive "$pid" "$pattern" || return 1
    echo "$pid"
}

# sm_stop_pid PID PATTERN TIMEOUT_S [SIGNAL] — signals PID (default TERM) and waits until it is gone;
# past TIMEOUT_S sends SIGKILL and says so. Harmless when PID is already gone.
sm_stop_pid() {
    local pid=$1 pattern=$2 timeout=$3 sig=${4:-TERM}
    sm_pid_alive "$pid" "$pattern" || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    if ! sm_wait_until "$timeout" "pid $pid ($pattern) to exit after SIG$sig" sm_pid_gone "$pid" "$pattern"; then
        sm_log "pid $pid ($pattern) ignored SIG$sig for ${timeout}s: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sm_wait_until 10 "pid $pid to exit after SIGKILL" sm_pid_gone "$pid" "$pattern" || return 1
    fi
}
sm_pid_gone() { ! sm_pid_alive "$1" "$2"; }

# sm_as_postgres CMD... — replaces the current (sub)shell with CMD, run as the postgres user with a clean environment (PostgreSQL refuses
# root). `setpriv` execs in place, so `$!` of a backgrounded call is the program's own pid — `runuser`
# would stay in between as a parent and the pid we record would not be Patroni's.
sm_as_postgres() {
    local envs=(HOME="${SM_PG_HOME:-/var/lib/postgresql}" PATH=/usr/local/bin:/usr/bin:/bin
                LANG=C.UTF-8 LC_ALL=C.UTF-8 USER=postgres LOGNAME=postgres)
    if [[ "$(id -un)" == postgres ]]; then
        exec env -i "${envs[@]}" "$@"
    elif [[ $EUID -eq 0 ]]; then
        exec setpriv --reuid=postgres --regid=postgres --init-groups env -i "${envs[@]}" "$@"
    else
        sm_die "must run as root or as postgres (PostgreSQL and Patroni run as the postgres user)"
    fi
}

# sm_chown_postgres PATH... — makes PATH owned by postgres (a no-op when we already are postgres).
sm_chown_postgres() {
    if [[ $EUID -eq 0 ]]; then chown -R postgres:postgres "$@"; fi
}

# sm_check_postgres_reach DIR — postgres must be able to enter every parent of DIR.
sm_check_postgres_reach() {
    local d=$1
    if [[ $EUID -eq 0 ]]; then
        setpriv --reuid=postgres --regid=postgres --init-groups test -x "$d" ||
            sm_die "the postgres user cannot enter $d: a parent folder is not searchable (use a DIR under /tmp or chmod o+x its parents)"
    fi
}

# sm_socket_dir WANTED — PostgreSQL's unix socket path (dir + '/.s.PGSQL.NNNNN') must fit in 107
# bytes; a longer WANTED is replaced by a short folder under /tmp.
sm_socket_dir() {
    local wanted=$1
    if (( ${#wanted} <= 85 )); then echo "$wanted"; return; fi
    mktemp -d /tmp/sm-sock.XXXXXX
}

# sm_bench_workdir NAME — sets WORK to a new temporary directory (/tmp/NAME.XXXXXX) and PIDS to an
# empty list; at exit every pid in PIDS is killed and WORK removed (KEEP=1 keeps it and says where).
sm_bench_workdir() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    PIDS=()
    trap sm_bench_cleanup EXIT
}
sm_bench_cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

# sm_usage FILE — prints FILE's leading comment block (after the #! line) as its usage text.
sm_usage() {
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

# sm_tail_log FILE — the end of a log, for error messages.
sm_tail_log() {
    [[ -f "$1" ]] || return 0
    echo "----- last lines of $1 -----" >&2
    tail -n "${2:-25}" "$1" >&2
    echo "-----" >&2
}

# sm_write_env FILE KEY=VALUE... — writes a sourceable env file atomically (values never need quoting).
sm_write_env() {
    local file=$1; shift
    local tmp="$file.tmp.$$"
    {
        echo "# written by $SM_SCRIPT at $(date -Is); plain KEY=value lines, sourceable by sh"
        local kv
        for kv in "$@"; do echo "$kv"; done
    } > "$tmp"
    mv -f "$tmp" "$file"
}

# sm_env_get FILE KEY — prints KEY's value from an env file written by sm_write_env.
sm_env_get() {
    [[ -f "$1" ]] || return 1
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

# sm_switchman_binary ROOT — prints the Switchman binary the benchmarks run: $SWITCHMAN_BIN when set,
# else a release build of the repository at ROOT (built now; swift build's output goes to stderr).
sm_switchman_binary() {
    local bin
    if [[ -n "${SWITCHMAN_BIN:-}" ]]; then
        bin=$SWITCHMAN_BIN
    else
        command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
        sm_log "building Switchman (release)"
        (cd "$1" && swift build -c release --product switchman >&2)
        bin="$(cd "$1" && swift build -c release --show-bin-path)/switchman"
    fi
    [[ -x "$bin" ]] || sm_die "no switchman binary at $bin"
    printf '%s\n' "$bin"
}

# sm_cluster_up CLUSTER_DIR — reuses the local cluster in CLUSTER_DIR when it is healthy within 5 s,
# else starts one there (scripts/local-cluster.sh).
sm_cluster_up() {
    if [[ -f "$1/cluster.env" ]] && "$SM_LIB_DIR/local-cluster.sh" wait-healthy "$1" 5 >/dev/null 2>&1; then
        sm_log "reusing the cluster running in $1"
    else
        "$SM_LIB_DIR/local-cluster.sh" start "$1"
    fi
}
