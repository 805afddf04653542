#!/usr/bin/env bash
# One plain PostgreSQL 15 on 127.0.0.1 for end-to-end tests of the proxy (no Patroni). Needs root or postgres.
#
#   scripts/single-postgres.sh start  DIR   initdb (first time) and start on a free port; writes DIR/pg.env
#   scripts/single-postgres.sh stop   DIR   fast shutdown; idempotent
#   scripts/single-postgres.sh status DIR
#
# DIR/pg.env: PG_HOST PG_PORT PGUSER PGPASSWORD PGDATABASE PG_DATA_DIR PG_SOCKET_DIR PG_LOG
# Password authentication (md5) for every connection, user postgres, password postgres. Durability is
# off (fsync, synchronous_commit, full_page_writes): this server holds only test data, and bulk loads
# such as a 100 MB COPY should measure the proxy, not the disk.
set -euo pipefail
SM_SCRIPT=single-postgres.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSWORD=postgres

pg_start() {
    local t0; t0=$(sm_clock)
    [[ $EUID -eq 0 || "$(id -un)" == postgres ]] || sm_die "run as root or postgres"
    [[ -x "$SM_PG_BIN/initdb" ]] || sm_die "$SM_PG_BIN/initdb not found (install postgresql-15)"
    sm_require_cmd setpriv
    local dir; dir=$(sm_abs_dir "$1")
    local env="$dir/pg.env" data="$dir/data" log="$dir/postgres.log"
    if [[ -f "$data/postmaster.pid" ]] && sm_pid_alive "$(head -n 1 "$data/postmaster.pid")" "$data"; then
        sm_log "already running on port $(sm_env_get "$env" PG_PORT)"
        return 0
    fi
    chmod 755 "$dir"
    sm_chown_postgres "$dir"
    sm_check_postgres_reach "$dir"
    local sock; sock=$(sm_socket_dir "$dir")
    [[ "$sock" == "$dir" ]] || { sm_chown_postgres "$sock"; chmod 755 "$sock"; }
    if [[ ! -f "$data/PG_VERSION" ]]; then
        echo "$PASSWORD" > "$dir/pwfile"
        sm_chown_postgres "$dir/pwfile"
        ( sm_as_postgres "$SM_PG_BIN/initdb" -D "$data" -U postgres --pwfile="$dir/pwfile" \
            --auth-local=md5 --auth-host=md5 -E UTF8 --locale=C.UTF-8 ) >"$dir/initdb.log" 2>&1 ||
            { sm_tail_log "$dir/initdb.log"; sm_die "initdb failed (log: $dir/initdb.log)"; }
        rm -f "$dir/pwfile"
    fi
    local wanted; wanted=$(sm_env_get "$env" PG_PORT || true)
    local port; port=$(sm_free_ports 1 "${wanted:-0}")
    sm_write_env "$env" PG_HOST=127.0.0.1 "PG_PORT=$port" PGUSER=postgres "PGPASSWORD=$PASSWORD" PGDATABASE=postgres \
        "PG_DATA_DIR=$data" "PG_SOCKET_DIR=$sock" "PG_LOG=$log"
    local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$sock"
    opts+=" -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    opts+=" -c max_wal_size=2GB -c logging_collector=off"
    ( sm_as_postgres "$SM_PG_BIN/pg_ctl" start -D "$data" -l "$log" -w -t "${PG_START_TIMEOUT:-60}" -o "$opts" ) \
        >"$dir/pg_ctl.log" 2>&1 || { sm_tail_log "$log"; sm_die "PostgreSQL did not start (log: $log)"; }
    sm_log "PostgreSQL 15 on 127.0.0.1:$port (data $data) in $(sm_elapsed "$t0") s"
}

pg_stop() {
    [[ -d "$1" ]] || { sm_log "no folder $1: nothing to stop"; return 0; }
    local dir; dir=$(cd "$1" && pwd -P)
    local data="$dir/data"
    [[ -f "$data/postmaster.pid" ]] || { sm_log "not running in $dir"; return 0; }
    local pid; pid=$(head -n 1 "$data/postmaster.pid")
    if sm_pid_alive "$pid" "$data"; then
        ( sm_as_postgres "$SM_PG_BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 ) >/dev/null 2>&1 ||
            sm_stop_pid "$pid" "$data" 30 QUIT || sm_die "could not stop PostgreSQL pid $pid"
        sm_log "PostgreSQL stopped (pid $pid)"
    fi
}

pg_status() {
    local dir=$1
    [[ -f "$dir/pg.env" ]] || sm_die "no $dir/pg.env: not started here"
    ( sm_as_postgres "$SM_PG_BIN/pg_ctl" status -D "$dir/data" )
}

usage() { sm_usage "$0"; exit 2; }
[[ $# -eq 2 ]] || usage
case "$1" in
    start) pg_start "$2" ;;
    stop) pg_stop "$2" ;;
    status) pg_status "$2" ;;
    *) usage ;;
esac
