#!/usr/bin/env bash
# Fuzzes the PostgreSQL start-up parsers: scripts/fuzz.sh's StartupParser target, kept under its
# old name. Usage: scripts/fuzz-startup.sh [seconds=60] (libFuzzer flags go in FUZZ_FLAGS).
exec "$(dirname "${BASH_SOURCE[0]}")/fuzz.sh" "${1:-60}" StartupParser
