#!/usr/bin/env bash
# The compose deployment end to end, where a Docker engine is available: builds the images, brings
# deploy/docker-compose.yml up with the two-proxies profile, writes through the write port, reads
# through the read port, stops the leader (docker stop, the seed's exercise), writes again, starts it
# again (it rejoins as a replica), checks both Switchman instances' /health, and tears everything down.
#
#   scripts/compose-smoke.sh            exit 0: passed; 1: failed; 77: skipped (no engine or no images)
#
# It needs the base images (swift:6.3-bookworm, debian:bookworm-slim, postgres:15,
# confluentinc/cp-zookeeper:7.7.1) present or pullable, and psql on this host.
set -euo pipefail
SM_SCRIPT=compose-smoke.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)
cd "$ROOT"

skip() { echo "compose-smoke: SKIPPED: $*"; exit 77; }
case "${1:-}" in -h|--help) sm_usage "$0"; exit 0 ;; esac

command -v docker >/dev/null 2>&1 || skip "no docker client installed"
command -v docker-compose >/dev/null 2>&1 || skip "no docker-compose installed"
docker info >/dev/null 2>&1 || skip "no Docker engine answers: $(docker info 2>&1 | grep -m1 -iE 'cannot|error' || true)"
command -v psql >/dev/null 2>&1 || skip "no psql on this host"
for image in swift:6.3-bookworm debian:bookworm-slim postgres:15 confluentinc/cp-zookeeper:7.7.1; do
    docker image inspect "$image" >/dev/null 2>&1 || docker pull -q "$image" >/dev/null 2>&1 \
        || skip "base image $image is neither present nor pullable"
done

# shellcheck disable=SC1091
source deploy/.env
export PGPASSWORD=$PG_SUPERUSER_PASSWORD PGUSER=postgres PGDATABASE=postgres PGCONNECT_TIMEOUT=10
COMPOSE=(docker-compose -f deploy/docker-compose.yml -p switchman-smoke --profile two-proxies)
teardown() { "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap teardown EXIT

t0=$(sm_clock)
sm_log "building and starting the stack"
"${COMPOSE[@]}" up -d --build
sql() { psql -h 127.0.0.1 -p "$1" -XAtqc "$2"; }
retry() {  # retry SECONDS PORT SQL: the SQL's output once it succeeds
    local deadline=$(( $(date +%s) + $1 )) out
    until out=$(sql "$2" "$3" 2>/dev/null); do
        (( $(date +%s) < deadline )) || sm_die "no success within $1 s: port $2: $3"
        sleep 0.5
    done
    echo "$out"
}
retry 300 5432 "create table if not exists smoke(id serial primary key, at timestamptz default now())" >/dev/null
sm_log "write port answers after $(sm_elapsed "$t0") s"
retry 30 5432 "insert into smoke default values" >/dev/null
retry 60 5433 "select count(*) from smoke where pg_is_in_recovery()" | grep -qx '[1-9][0-9]*' \
    || sm_die "the read port did not reach a replica that has the row"
leader=$(retry 30 5432 "select inet_server_addr()")
node=$(docker inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' pg-master pg-slave \
    | awk -v ip="${leader%/*}" '$2 == ip { sub("^/", "", $1); print $1 }')
[[ -n "$node" ]] || sm_die "cannot tell which container leads ($leader)"
sm_log "leader is $node; docker stop $node"
t1=$(sm_clock)
docker stop "$node" >/dev/null &
retry 120 5432 "insert into smoke default values" >/dev/null
sm_log "write through 5432 succeeded $(sm_elapsed "$t1") s after the stop began"
wait
docker start "$node" >/dev/null
deadline=$(( $(date +%s) + 180 ))
until [[ "$(docker exec "$node" curl -s -o /dev/null -w '%{http_code}' "http://$node:8008/replica" 2>/dev/null)" == 200 ]]; do
    (( $(date +%s) < deadline )) || sm_die "$node did not rejoin as a replica within 180 s"
    sleep 1
done
sm_log "$node rejoined as a replica (Patroni does not fail back)"
for port in 7000 7001; do
    "${COMPOSE[@]}" exec -T "$([[ $port == 7000 ]] && echo switchman || echo switchman-2)" switchman health \
        || sm_die "Switchman behind stats port $port is not healthy"
done
retry 30 6432 "insert into smoke default values" >/dev/null
sm_log "both Switchman instances healthy, writes through 5432 and 6432; passed in $(sm_elapsed "$t0") s"
