#!/usr/bin/env bash
# Exercises local-cluster.sh itself on a real cluster (no Switchman): start, writes replicate, graceful
# stop of the leader, crash of the leader, switchover, ZooKeeper restart, full stop and restart from the
# same folder. Prints how long each step took. Needs root.
#
#   scripts/cluster-selftest.sh [DIR]     (default: a new folder under /tmp, removed on success)
set -euo pipefail
SM_SCRIPT=cluster-selftest.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LC="$SM_LIB_DIR/local-cluster.sh"

DIR=${1:-$(mktemp -d /tmp/switchman-selftest.XXXXXX)}
OWN_DIR=$([[ -z "${1:-}" ]] && echo 1 || echo 0)
CHECKS=0
cleanup() {
    local rc=$?
    "$LC" stop "$DIR" >/dev/null 2>&1 || true
    if (( rc == 0 && OWN_DIR )); then rm -rf "$DIR"; else sm_log "logs kept in $DIR"; fi
}
trap cleanup EXIT

pass() { CHECKS=$((CHECKS + 1)); sm_log "ok: $*"; }
fail() { sm_die "check failed: $*"; }

psql_node() {  # psql_node N SQL
    local port; port=$(sm_env_get "$DIR/cluster.env" "NODE$1_PG_PORT")
    PGPASSWORD=postgres PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc "$2"
}
node_of() { echo "${1#node}"; }
other() { [[ "$1" == 1 ]] && echo 2 || echo 1; }
leader() { "$LC" leader "$DIR" 2>/dev/null; }
leader_is_not() { local l; l=$(leader) && [[ -n "$l" && "$l" != "$1" ]]; }

t=$(sm_clock)
"$LC" start "$DIR"
pass "start: healthy in $(sm_elapsed "$t") s"

L=$(node_of "$(leader)"); R=$(other "$L")
psql_node "$L" "create table selftest(id int primary key); insert into selftest values (1)"
# synchronous_mode: the commit returned, so the sync standby has the row
[[ "$(psql_node "$R" 'select count(*) from selftest')" == 1 ]] || fail "row not on the replica"
[[ "$(psql_node "$R" 'select pg_is_in_recovery()')" == t ]] || fail "node$R is not in recovery"
pass "a write on node$L is read on node$R"

for mode in stop kill; do
    L=$(node_of "$(leader)"); R=$(other "$L")
    t=$(sm_clock)
    if [[ $mode == stop ]]; then "$LC" stop-node "$DIR" "$L"; else "$LC" kill-node "$DIR" "$L"; fi
    sm_wait_until 60 "a new leader after the $mode of node$L" leader_is_not "node$L" || fail "no new leader after $mode"
    took_leader=$(sm_elapsed "$t")
    sm_wait_until 30 "node$R to take writes" psql_node "$R" "insert into selftest values (($RANDOM + 10) * 10 + ${#mode})" ||
        fail "node$R takes no writes"
    took_write=$(sm_elapsed "$t")
    t=$(sm_clock)
    "$LC" start-node "$DIR" "$L"
    "$LC" wait-healthy "$DIR" 120 || fail "node$L did not rejoin"
    [[ "$(leader)" == "node$R" ]] || fail "Patroni failed back to node$L"
    pass "$mode of leader node$L: new leader node$R after $took_leader s, writable after $took_write s; node$L rejoined as replica in $(sm_elapsed "$t") s"
done

L=$(leader)
t=$(sm_clock)
"$LC" switchover "$DIR" || fail "switchover refused"
sm_wait_until 60 "a new leader after the switchover" leader_is_not "$L" || fail "leader did not change"
took_leader=$(sm_elapsed "$t")
"$LC" wait-healthy "$DIR" 120 || fail "not healthy after switchover"
pass "switchover from $L to $(leader): new leader after $took_leader s, healthy after $(sm_elapsed "$t") s"

L=$(leader)
t=$(sm_clock)
"$LC" restart-zk "$DIR" 1
"$LC" wait-healthy "$DIR" 60 || fail "not healthy after the ZooKeeper restart"
[[ "$(leader)" == "$L" ]] || fail "leader changed across a short ZooKeeper restart"
pass "ZooKeeper restarted (1 s down): leader $L kept, healthy after $(sm_elapsed "$t") s"

t=$(sm_clock)
"$LC" stop "$DIR"
took_stop=$(sm_elapsed "$t")
for f in "$DIR"/node*/patroni.pid "$DIR"/zk/zookeeper.pid; do [[ ! -e "$f" ]] || fail "$f left after stop"; done
"$LC" stop "$DIR" || fail "a second stop failed"
t=$(sm_clock)
"$LC" start "$DIR"
[[ "$(psql_node "$(node_of "$(leader)")" 'select count(*) from selftest')" -ge 3 ]] || fail "rows lost across stop/start"
pass "stop in $took_stop s (idempotent); start again from the same folder in $(sm_elapsed "$t") s with the data kept"

"$LC" stop "$DIR"
sm_log "cluster self-test: all $CHECKS checks passed"
