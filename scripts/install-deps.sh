#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and the demo need (as root). Idempotent: when
# every package is already installed it does nothing, unless --update is given.
#
#   scripts/install-deps.sh [--update] [--bench]
#     --update   always run `apt-get update` and `apt-get install` (what CI does)
#     --bench    also the benchmark's tools (wrk, iperf3, nginx-light, linux-perf, strace, valgrind, hyperfine)
#
# PostgreSQL: the postgresql-15 package would create and start a default cluster on 5432; we turn that
# off first (create_main_cluster = false). The scripts never use default ports anyway.
set -euo pipefail
SM_SCRIPT=install-deps.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
    # build: SwiftPM fetches dependencies with git; libpq is found through pkg-config
    git ca-certificates pkg-config libzookeeper-mt-dev libpq-dev
    # the cluster the tests start: ZooKeeper, Patroni (its ZooKeeper client kazoo is not a hard
    # dependency of Debian's patroni package), PostgreSQL 15 and psql
    zookeeper patroni python3 python3-kazoo python3-psycopg2 postgresql-15 postgresql-client-15
    # test tools: port probes, HTTP checks, process helpers, the HAProxy comparison, the metrics
    # format check (promtool), the HTML page check, compose file validation, the systemd unit check
    # (systemd-analyze)
    netcat-openbsd curl procps util-linux haproxy prometheus chromium docker-compose systemd
)
BENCH_PACKAGES=(wrk iperf3 nginx-light linux-perf strace valgrind hyperfine)

update=0
for arg in "$@"; do
    case "$arg" in
        --update) update=1 ;;
        --bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
        *) sm_usage "$0"; exit 2 ;;
    esac
done

[[ $EUID -eq 0 ]] || sm_die "run as root (apt-get)"

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} == 0 && update == 0 )); then
    sm_log "all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
t0=$(sm_clock)
sm_log "apt-get update"
apt-get update -q

# postgresql-common first, then no main cluster, then PostgreSQL itself (the official postgres image
# does the same). Left alone when a cluster already exists.
if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q 'install ok installed'; then
    "${APT[@]}" install --no-install-recommends postgresql-common
    conf=/etc/postgresql-common/createcluster.conf
    if grep -qE '^\s*#?\s*create_main_cluster' "$conf"; then
        sed -ri 's/^\s*#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' "$conf"
    else
        echo 'create_main_cluster = false' >> "$conf"
    fi
    sm_log "$conf: $(grep -E '^create_main_cluster' "$conf")"
fi

sm_log "apt-get install ${PACKAGES[*]}"
"${APT[@]}" install --no-install-recommends "${PACKAGES[@]}"
sm_log "packages installed in $(sm_elapsed "$t0") s"
