#!/usr/bin/env bash
# Runs the test targets with threads and sockets (ReactorTests, ProxyRuntimeTests, DiscoveryTests,
# StatsServerTests) under AddressSanitizer (with LeakSanitizer) and ThreadSanitizer.
#
# Usage: scripts/sanitize.sh [address] [thread]     (default: both; extra `swift test` arguments
#        go in SANITIZE_TEST_ARGS, e.g. SANITIZE_TEST_ARGS="--filter PumpTests")
#
# Each sanitizer builds into its own build path (.build-asan, .build-tsan; ignored by git), so the
# normal .build is untouched. A report fails the run: ASan/LSan and TSan exit non-zero on the first
# report (halt_on_error), which `swift test` turns into a failure.
#
# Suppressions, each with its reason: scripts/tsan-suppressions.txt (races inside libzookeeper's own
# threads only) and scripts/lsan-suppressions.txt (memory the toolchain's XCTest and Foundation never
# free; nothing of Switchman's).
set -euo pipefail
SM_SCRIPT=sanitize.sh
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$(cd "$SM_LIB_DIR/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"

sanitizers=("$@")
[[ ${#sanitizers[@]} -gt 0 ]] || sanitizers=(address thread)
targets='ReactorTests|ProxyRuntimeTests|DiscoveryTests|StatsServerTests'

# Every report is fatal and symbolized; LSan runs at exit (the default with ASan on Linux).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/scripts/tsan-suppressions.txt${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
# The Swift backtracer would race the sanitizers' own reports.
export SWIFT_BACKTRACE=enable=no

for sanitizer in "${sanitizers[@]}"; do
    case $sanitizer in
        address) path=.build-asan; flags=() ;;
        # Mutex becomes the pthread-based ConditionLock (see Sources/Reactor/TSanVisibleMutex.swift):
        # Synchronization.Mutex's contended path is invisible to TSan and reads as races.
        thread) path=.build-tsan; flags=(-Xswiftc -DSWITCHMAN_TSAN_LOCKS) ;;
        *) sm_die "unknown sanitizer '$sanitizer' (address or thread)" ;;
    esac
    t0=$(sm_clock)
    sm_log "==> swift build --build-tests --sanitize=$sanitizer --build-path $path"
    swift build --build-tests --sanitize="$sanitizer" --build-path "$path" "${flags[@]}"
    sm_log "built in $(sm_elapsed "$t0") s"
    t1=$(sm_clock)
    sm_log "==> swift test --sanitize=$sanitizer --filter '$targets'"
    # shellcheck disable=SC2086
    swift test --skip-build --sanitize="$sanitizer" --build-path "$path" "${flags[@]}" --filter "$targets" ${SANITIZE_TEST_ARGS:-}
    sm_log "$sanitizer: tests passed in $(sm_elapsed "$t1") s (build and tests $(sm_elapsed "$t0") s)"
done
