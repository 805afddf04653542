#!/usr/bin/env bash
# Checks deploy/switchman.service with `systemd-analyze verify`, in a scratch root that holds the
# system's own units, /usr/bin/kill and the switchman binary at the unit's path, so the check needs no
# installed Switchman and touches nothing on this machine. Fails on any complaint (verify itself exits
# 0 on a misspelt setting and only prints it).
#
#   scripts/check-systemd-unit.sh [BINARY]    (default: .build/debug/switchman)
set -euo pipefail
SM_SCRIPT=check-systemd-unit.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)
UNIT="$ROOT/deploy/switchman.service"
BIN=${1:-$ROOT/.build/debug/switchman}

case "${1:-}" in -h|--help) sm_usage "$0"; exit 0 ;; esac
sm_require_cmd systemd-analyze
[[ -x "$BIN" ]] || sm_die "no switchman binary at $BIN (swift build first)"
[[ -d /usr/lib/systemd/system ]] || sm_die "/usr/lib/systemd/system not found (install the systemd package)"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/usr/lib/systemd" "$scratch/usr/bin" "$scratch/usr/local/bin" "$scratch/etc/systemd/system"
cp -a /usr/lib/systemd/system "$scratch/usr/lib/systemd/"
ln -s usr/bin "$scratch/bin"
cp /usr/bin/kill "$scratch/usr/bin/kill"
install -m 0755 "$BIN" "$scratch/usr/local/bin/switchman"
cp "$UNIT" "$scratch/etc/systemd/system/switchman.service"

status=0
output=$(systemd-analyze verify --man=no --root="$scratch" switchman.service 2>&1) || status=$?
if (( status != 0 )) || [[ -n "$output" ]]; then
    printf '%s\n' "$output" >&2
    sm_die "systemd-analyze verify: deploy/switchman.service has problems (exit $status)"
fi
sm_log "deploy/switchman.service: systemd-analyze verify found nothing to complain about"
