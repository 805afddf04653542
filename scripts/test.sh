#!/usr/bin/env bash
# The project's test command (the README's, run by .ci/run): builds everything, checks the deployment
# files and the local-cluster scripts, then runs every Swift test target. Arguments go to `swift test`
# (e.g. `scripts/test.sh --filter ReactorTests`).
#
# Environment: RUN_CLUSTER_SELFTEST=1 adds the ~75 s self-test of scripts/local-cluster.sh (it needs
# root); SWIFT_BUILD_ARGS adds arguments to `swift build`.
set -euo pipefail
SM_SCRIPT=test.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)
cd "$ROOT"

command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
sm_require_cmd swift

T0=$(sm_clock)
step() { sm_log "==> $* (at +$(sm_elapsed "$T0") s)"; }

step "shell syntax of scripts/ and .ci/run"
for f in scripts/*.sh .ci/run deploy/*.sh; do
    [[ -f "$f" ]] && bash -n "$f"
done
"$SM_PY" -m py_compile scripts/patroni_ctl.py

step "swift build --build-tests"
# shellcheck disable=SC2086
swift build --build-tests ${SWIFT_BUILD_ARGS:-}

if [[ -x .build/debug/switchman ]] && .build/debug/switchman check-config --help >/dev/null 2>&1; then
    step "switchman check-config on the shipped configurations"
    for conf in deploy/proxy.conf proxy.conf.example; do
        [[ -f "$conf" ]] && .build/debug/switchman check-config "$conf"
    done
fi

if command -v docker-compose >/dev/null 2>&1; then
    step "docker-compose config (deploy/docker-compose.yml, both profiles)"
    docker-compose -f deploy/docker-compose.yml config -q
    docker-compose -f deploy/docker-compose.yml --profile two-proxies config -q
else
    sm_log "docker-compose not installed: compose file not validated"
fi

step "Dockerfile: no syntax= line (a registry pull), no RUN --mount (BuildKit only)"
! grep -nE '^[[:space:]]*#[[:space:]]*syntax[[:space:]]*=' Dockerfile || sm_die "Dockerfile: a syntax= line pulls a frontend image"
! grep -vE '^[[:space:]]*#' Dockerfile | grep -n -e '--mount' || sm_die "Dockerfile: RUN --mount needs BuildKit"

step "systemd-analyze verify deploy/switchman.service"
scripts/check-systemd-unit.sh .build/debug/switchman

step "switchman health against a dead port (must exit 1)"
dead=$(sm_free_ports 1 17000)
if .build/debug/switchman health --timeout 2 "http://127.0.0.1:$dead/health"; then sm_die "switchman health exited 0 against a dead port"; fi

step "compose smoke test (scripts/compose-smoke.sh; skipped without a Docker engine and its base images)"
smoke=0
scripts/compose-smoke.sh || smoke=$?
case $smoke in
    0) ;;
    77) sm_log "compose smoke test skipped (see the line above)" ;;
    *) sm_die "compose smoke test failed (exit $smoke)" ;;
esac

if [[ "${RUN_CLUSTER_SELFTEST:-0}" == 1 && $EUID -eq 0 ]]; then
    step "local cluster self-test (ZooKeeper + 2 Patroni nodes: failover, crash, switchover, ZooKeeper restart)"
    scripts/cluster-selftest.sh
else
    # The integration suite (swift test, below) drives the same scripts through every failover.
    sm_log "cluster self-test not run (RUN_CLUSTER_SELFTEST=1 runs it; the integration tests use the same scripts)"
fi

# Tests that need an external tool fail (instead of skipping) when it is missing: CI installs them all.
export TEST_REQUIRE_PROMTOOL=1
step "swift test $*"
# swift test's own summary stays the last thing printed
exec swift test --skip-build "$@"
