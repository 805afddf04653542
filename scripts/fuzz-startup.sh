#!/usr/bin/env bash
# Builds the libFuzzer harness for the PostgreSQL start-up parsers and runs it for a bounded time.
#
# Usage: scripts/fuzz-startup.sh [seconds=60] [extra libFuzzer flags…]
# The corpus grows in .build/fuzz/startup-corpus (kept between runs); crashes land in
# .build/fuzz/artifacts. Exit status is libFuzzer's: non-zero when it found a crash.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true

out=.build/fuzz
corpus="$out/startup-corpus"
seeds="$out/startup-seeds"
mkdir -p "$corpus" "$seeds" "$out/artifacts"

swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    -module-name StartupParserFuzz \
    Fuzz/StartupParserFuzz/*.swift Sources/SwitchmanCore/PostgresProtocol/*.swift \
    -o "$out/startup-parser-fuzz" 2> >(grep -v "Cannot export local symbol" >&2)

# Seeds: a first selector byte (0 plain, 1 after SSLRequest, 2 after GSSENCRequest) then bytes
# shaped like what each side sends.
printf '\x00\x00\x00\x08\x04\xd2\x16\x2f' > "$seeds/ssl-request"
printf '\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x20\xbd\xb9\xa7\x9b\x13' > "$seeds/cancel-request"
printf '\x00\x00\x00\x29\x00\x03\x00\x00user\x00postgres\x00database\x00postgres\x00\x00' > "$seeds/startup"
printf '\x01NR\x00\x00\x00\x08\x00\x00\x00\x00S\x00\x00\x00\x0ba\x00bcd\x00K\x00\x00\x00\x0c\x00\x00\x20\xbd\xb9\xa7\x9b\x13Z\x00\x00\x00\x05I' > "$seeds/server-start"
printf '\x00E\x00\x00\x00\x1aSFATAL\x00C57P03\x00Mstarting\x00\x00' > "$seeds/server-57p03"
printf '\x00v\x00\x00\x00\x20\x00\x03\x00\x00\x00\x00\x00\x01_pq_.unknown_option\x00' > "$seeds/server-negotiate"
printf '\x02G' > "$seeds/server-gss"

exec "$out/startup-parser-fuzz" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" "$@" "$corpus" "$seeds"
