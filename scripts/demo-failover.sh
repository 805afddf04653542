#!/usr/bin/env bash
# The seed's failover exercise, narrated with its timings, against a running `scripts/demo.sh DIR`
# (run it from another shell): stop the leader's node, write through Switchman's write port until a
# write lands on the new leader, start the old node again and wait until it rejoins as a replica.
#
#   scripts/demo-failover.sh [DIR] [stop|kill]
#     DIR   the demo's folder (default: run/demo in the repository, else /tmp/switchman-demo)
#     stop  graceful stop of the leader's Patroni (default); kill: SIGKILL of Patroni and PostgreSQL
#
# Every wait is bounded (the write loop 60 s, the rejoin 180 s). Patroni never fails back on its own:
# the old leader comes back as a replica, and stays one until you switch over.
set -euo pipefail
SM_SCRIPT=demo-failover.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)

dir=${1:-}
how=${2:-stop}
[[ "$how" == stop || "$how" == kill ]] || sm_die "the second argument is stop or kill, got $how"
if [[ -z "$dir" ]]; then
    dir="$ROOT/run/demo"
    [[ -f "$dir/demo.env" ]] || dir=/tmp/switchman-demo
fi
[[ -f "$dir/demo.env" ]] || sm_die "no $dir/demo.env: start scripts/demo.sh $dir in another shell first"
CLUSTER="$dir/cluster"
# shellcheck disable=SC1091
source "$dir/demo.env"
# shellcheck disable=SC1091
source "$CLUSTER/cluster.env"
export PGPASSWORD
sm_require_cmd psql

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# The port of the node a write through the write port landed on, or nothing.
write_once() {
    psql "host=127.0.0.1 port=$PRIMARY_1 user=$PGUSER dbname=postgres connect_timeout=3" -XAtq -v ON_ERROR_STOP=1 \
        -c "insert into demo_failover default values returning node" 2>>"$dir/demo-failover.err" || true
}

leader=$("$SM_LIB_DIR/local-cluster.sh" leader "$CLUSTER")
n=""
for i in 1 2; do
    name_var="NODE${i}_NAME"
    [[ "${!name_var}" == "$leader" ]] && n=$i
done
[[ -n "$n" ]] || sm_die "the leader '$leader' is not one of the demo's nodes"
port_var="NODE${n}_PG_PORT"
old_port=${!port_var}
psql "host=127.0.0.1 port=$PRIMARY_1 user=$PGUSER dbname=postgres" -XAtq \
    -c "create table if not exists demo_failover (id bigserial primary key, at timestamptz default now(), node int default inet_server_port())"
echo "1. The leader is $leader (PostgreSQL on 127.0.0.1:$old_port); writes go through Switchman at 127.0.0.1:$PRIMARY_1."
echo "   A write now lands on port $(write_once)."

: > "$dir/demo-failover.err"
echo "2. $( [[ $how == stop ]] && echo "Stopping" || echo "Killing") $leader (scripts/local-cluster.sh $how-node), writing every 100 ms meanwhile."
t0=$(now)
"$SM_LIB_DIR/local-cluster.sh" "$how-node" "$CLUSTER" "$n" >/dev/null 2>&1 &
stopper=$!
failed=0 landed=""
deadline=$(( $(date +%s) + 60 ))
while (( $(date +%s) < deadline )); do
    landed=$(write_once)
    if [[ -n "$landed" && "$landed" != "$old_port" ]]; then break; fi
    [[ -z "$landed" ]] && failed=$(( failed + 1 ))
    landed=""
    sleep 0.1
done
wait "$stopper" || true
[[ -n "$landed" ]] || sm_die "no write reached a new leader within 60 s (errors: $dir/demo-failover.err)"
new_leader=$("$SM_LIB_DIR/local-cluster.sh" leader "$CLUSTER")
echo "   The first write on the new leader $new_leader (port $landed) committed $(since "$t0") s after the $how began;"
echo "   $failed writes failed or were refused in between (their errors: $dir/demo-failover.err)."

echo "3. Starting $leader again (scripts/local-cluster.sh start-node)."
t1=$(now)
"$SM_LIB_DIR/local-cluster.sh" start-node "$CLUSTER" "$n" >/dev/null
deadline=$(( $(date +%s) + 180 ))
role=""
while (( $(date +%s) < deadline )); do
    role=$(psql "host=127.0.0.1 port=$old_port user=$PGUSER dbname=postgres connect_timeout=2" -XAtq \
        -c "select case when pg_is_in_recovery() then 'replica' else 'primary' end" 2>/dev/null || true)
    [[ "$role" == replica ]] && break
    sleep 0.5
done
[[ "$role" == replica ]] || sm_die "$leader did not come back as a replica within 180 s"
echo "   $leader answers as a replica $(since "$t1") s later; the leader is still $("$SM_LIB_DIR/local-cluster.sh" leader "$CLUSTER")."
echo "   Patroni does not fail back on its own. To make $leader the leader again:"
echo "     scripts/local-cluster.sh switchover $CLUSTER $leader"
echo "   The failover as Switchman saw it: http://127.0.0.1:$STATS_1/ (Recent events)."
