#!/usr/bin/env bash
# User-space instructions per new connection, Switchman vs HAProxy, counted by callgrind: unlike
# CPU time on this shared 2-core machine they repeat to within a fraction of a percent.
#
#   bench/conn_instructions.sh [--connections N]     (default 2000)
#
# Each proxy runs one thread under `valgrind --tool=callgrind` in front of a backend that answers
# one 100-byte reply per connection and closes (as nginx does with `Connection: close`); a client
# opens N connections one after another, each sending a request and reading to the end. The counts
# are zeroed after 50 warm-up connections and dumped after the N, so start-up is not counted.
# Needs valgrind, haproxy, python3 and a release build (SWITCHMAN, default .build/release/switchman).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SM_SCRIPT=conn_instructions.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
PY=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
SWITCHMAN=${SWITCHMAN:-$ROOT/.build/release/switchman}
CONNECTIONS=2000
while [ $# -gt 0 ]; do
    case "$1" in
        --connections) CONNECTIONS=$2; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for tool in valgrind callgrind_annotate callgrind_control haproxy objcopy; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
[ -x "$SWITCHMAN" ] || { echo "no Switchman binary at $SWITCHMAN (swift build -c release)" >&2; exit 2; }

sm_bench_workdir switchman-conn-instructions

read -r BACKEND SW_PORT SW_STATS HA_PORT <<< "$("$PY" "$ROOT/bench/tools.py" ports 4)"

cat > "$WORK/backend.py" <<'EOF'
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(1024)
reply = b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\nConnection: close\r\n\r\n" + b"x" * 42  # 100 bytes
while True:
    client, _ = server.accept()
    try:
        client.recv(4096)
        client.sendall(reply)
    finally:
        client.close()
EOF
cat > "$WORK/client.py" <<'EOF'
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
received = 0
for _ in range(count):
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while chunk := connection.recv(4096):
            received += len(chunk)
if received != 100 * count:
    sys.exit(f"received {received} bytes, expected {100 * count}")
EOF
cat > "$WORK/switchman.yaml" <<EOF
threads: 1
maxconn: 1000
log_sessions: false
listeners:
  - { name: http, bind: "127.0.0.1:$SW_PORT", role: static, servers: ["127.0.0.1:$BACKEND"] }
stats: { bind: "127.0.0.1:$SW_STATS" }
EOF
cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 1000
    nbthread 1
defaults
    mode tcp
    timeout client 30m
    timeout connect 4s
    timeout server 30m
listen http
    bind 127.0.0.1:$HA_PORT
    server s1 127.0.0.1:$BACKEND
EOF

"$PY" "$WORK/backend.py" "$BACKEND" & PIDS+=($!)
# valgrind 3.19 cannot read the DWARF 5 debug information Swift writes; the symbol table suffices.
objcopy --strip-debug "$SWITCHMAN" "$WORK/switchman"

listening() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
wait_listen() { sm_wait_until 30 "something to listen on port $1" listening "$1"; }

# measure NAME PORT COMMAND... → sets RESULT to the instructions per connection. Runs in this shell
# (not in a $(…) subshell) so the proxy's pid reaches PIDS and the cleanup.
measure() {
    local name=$1 port=$2; shift 2
    valgrind --tool=callgrind --callgrind-out-file="$WORK/$name.out" "$@" > "$WORK/$name.log" 2>&1 &
    local pid=$!; PIDS+=("$pid")
    wait_listen "$port" || { cat "$WORK/$name.log" >&2; exit 1; }
    "$PY" "$WORK/client.py" "$port" 50
    callgrind_control -z "$pid" >/dev/null || { echo "callgrind_control -z failed for $name" >&2; exit 1; }
    "$PY" "$WORK/client.py" "$port" "$CONNECTIONS"
    callgrind_control -d "$pid" >/dev/null || { echo "callgrind_control -d failed for $name" >&2; exit 1; }
    local dump=""
    for _ in $(seq 100); do
        dump=$(ls "$WORK/$name".out.* 2>/dev/null | head -1 || true)
        [ -n "$dump" ] && [ -s "$dump" ] && break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    [ -n "$dump" ] && [ -s "$dump" ] || { echo "no callgrind dump for $name" >&2; exit 1; }
    local total
    total=$(callgrind_annotate --auto=no "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    [ -n "$total" ] || { echo "no instruction total in the $name dump" >&2; exit 1; }
    RESULT=$((total / CONNECTIONS))
}

wait_listen "$BACKEND"
measure switchman "$SW_PORT" "$WORK/switchman" run --config "$WORK/switchman.yaml"; sw=$RESULT
measure haproxy "$HA_PORT" haproxy -f "$WORK/haproxy.cfg" -db; ha=$RESULT
echo "user-space instructions per connection ($CONNECTIONS connections, one thread, callgrind):"
printf '  Switchman %s\n  HAProxy   %s (%s)\n  Switchman/HAProxy %s\n' "$sw" "$ha" "$(haproxy -v | head -1 | awk '{ print $3 }')" \
    "$(awk -v a="$sw" -v b="$ha" 'BEGIN { printf "%.2f", a / b }')"
