#!/usr/bin/env bash
# Builds the libFuzzer harnesses under Fuzz/ and runs each for a bounded time.
#
# Usage: scripts/fuzz.sh [seconds=60] [target…]     (default: every target; seconds per target)
#        FUZZ_FLAGS="-jobs=2" scripts/fuzz.sh 30 Configuration
#
# Targets (Fuzz/<Name>Fuzz/<Name>Fuzz.swift, seeds in Fuzz/<Name>Fuzz/corpus/):
#   StartupParser   the PostgreSQL start-up parsers, client and server side
#   StartupMachine  the start-up state machine, driven by event sequences decoded from the input
#   Configuration   proxy.conf YAML → ProxyConfiguration or a FILE:LINE ConfigurationError
#   Topology        Patroni znodes (members, leader, status, sync, failover) → Topology
#   HTTPRequest     the stats server's HTTP/1.1 request parser and basic-auth check
#
# Built with swiftc -sanitize=fuzzer,address outside SwiftPM (so `swift build` is untouched): the
# harness is compiled with the sources it tests; Configuration, Topology and StartupMachine link a
# SwitchmanCore built here with Yams (its C part instrumented too). Everything lands in .build/fuzz:
# binaries, the growing corpus of each target (corpus-<Name>, kept between runs), and crashes in
# .build/fuzz/artifacts. Exit status: non-zero when any target crashed, leaked, or timed out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v swiftc >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
# libFuzzer reports crashes itself (with a symbolized stack); the Swift backtracer would race it.
export SWIFT_BACKTRACE=enable=no

all_targets=()
for dir in Fuzz/*Fuzz/; do
    name=$(basename "$dir")
    all_targets+=("${name%Fuzz}")
done
seconds="${1:-60}"
# At least 1: libFuzzer reads -max_total_time=0 as "no limit".
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "fuzz.sh: seconds must be a whole number ≥ 1, got '$seconds'" >&2; exit 2; }
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ -f "Fuzz/${t}Fuzz/${t}Fuzz.swift" ]] || { echo "fuzz.sh: no target $t (have: ${all_targets[*]})" >&2; exit 2; }
done

out=.build/fuzz
mkdir -p "$out/artifacts" "$out/core"
swift_flags=(-sanitize=fuzzer,address -parse-as-library -O -g)
# ld.gold warns once per Swift symbol libFuzzer's export list cannot find; harmless.
quiet() { "$@" 2> >(grep -v "Cannot export local symbol" >&2); }

# SwitchmanCore with Yams and libyaml, instrumented, as objects the harnesses link (rebuilt when a
# source is newer than the last build).
core_built=0
build_core() {
    [[ $core_built == 1 ]] && return
    local yams=.build/checkouts/Yams/Sources
    [[ -d "$yams" ]] || swift package resolve >/dev/null
    local stamp="$out/core/built"
    if [[ -f "$stamp" && -z "$(find Sources/SwitchmanCore "$yams" scripts/fuzz.sh -newer "$stamp" -print -quit)" ]]; then
        core_built=1
        return
    fi
    local t0=$SECONDS
    rm -f "$out"/core/*.o "$stamp"
    for c in "$yams"/CYaml/src/*.c; do
        clang -c -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_EXPORT -I "$yams/CYaml/include" \
            "$c" -o "$out/core/cyaml-$(basename "$c" .c).o"
    done
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -wmo -suppress-warnings -module-name Yams -D SWIFT_PACKAGE \
        -Xcc -I"$yams/CYaml/include" -I "$yams/CYaml/include" \
        -emit-module -emit-module-path "$out/core/Yams.swiftmodule" -c -o "$out/core/yams.o" \
        "$yams"/Yams/*.swift
    # -enable-testing: the harnesses may check internal state (`@testable import`).
    find Sources/SwitchmanCore -name '*.swift' -print0 | xargs -0 swiftc \
        -sanitize=fuzzer,address -parse-as-library -O -g -wmo -enable-testing -module-name SwitchmanCore \
        -I "$out/core" -Xcc -I"$yams/CYaml/include" \
        -emit-module -emit-module-path "$out/core/SwitchmanCore.swiftmodule" -c -o "$out/core/switchman-core.o"
    echo "fuzz.sh: SwitchmanCore + Yams built in $((SECONDS - t0)) s"
    touch "$stamp"
    core_built=1
}

build() {
    local name=$1 harness="Fuzz/$1Fuzz/$1Fuzz.swift" binary="$out/$1-fuzz"
    case $name in
        StartupParser)
            quiet swiftc "${swift_flags[@]}" -module-name "${name}Fuzz" "$harness" \
                Sources/SwitchmanCore/PostgresProtocol/*.swift -o "$binary" ;;
        HTTPRequest)
            quiet swiftc "${swift_flags[@]}" -module-name "${name}Fuzz" "$harness" \
                Sources/StatsServer/HTTP/{HTTPRequestParser,HTTPRequest,BasicAuth}.swift -o "$binary" ;;
        *)
            build_core
            quiet swiftc "${swift_flags[@]}" -module-name "${name}Fuzz" "$harness" \
                -I "$out/core" -Xcc -I.build/checkouts/Yams/Sources/CYaml/include "$out"/core/*.o -o "$binary" ;;
    esac
}

failed=()
for name in "${targets[@]}"; do
    t0=$SECONDS
    build "$name"
    built=$((SECONDS - t0))
    corpus="$out/corpus-$name"
    mkdir -p "$corpus"
    echo "fuzz.sh: $name built in $built s; fuzzing for $seconds s"
    status=0
    # shellcheck disable=SC2086
    "$out/$name-fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$name-" ${FUZZ_FLAGS:-} "$corpus" "Fuzz/${name}Fuzz/corpus" \
        > "$out/$name.log" 2>&1 || status=$?
    grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|^#[0-9]+ +DONE|ERROR|SUMMARY|artifact" \
        "$out/$name.log" | sed "s/^/fuzz.sh: $name: /" || true
    if [[ $status != 0 ]]; then
        echo "fuzz.sh: $name FAILED (exit $status); log: $out/$name.log" >&2
        tail -n 40 "$out/$name.log" >&2
        failed+=("$name")
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: crashed: ${failed[*]} (inputs in $out/artifacts)" >&2
    exit 1
fi
echo "fuzz.sh: ${targets[*]}: no crash"
