#!/usr/bin/env python3
"""Open N idle connection pairs through a TCP proxy and hold them.

One process plays both ends: it listens on 127.0.0.1 (the proxy's backend), connects N clients to
the proxy, and accepts the proxy's N connections on the backend side. Then it tells the caller and
holds everything until stdin closes or a line arrives.

  idle_pairs.py BACKEND_PORT PROXY_PORT N

Protocol on stdout (one line each, flushed):
  listening                 the backend socket is bound; start the proxy or connect now
  connected N               every client is connected and the backend accepted N connections
  exchanged N               every pair carried one 16-byte message each way and is idle again
  error MESSAGE             something failed; the process exits 1
After "connected" it waits for one line on stdin before the exchange, and after "exchanged" for
one more line (or EOF) before it closes everything and exits 0. Every wait is bounded.
"""
import os
import select
import socket
import sys
import time

TIMEOUT = 60.0  # generous: only catches hangs


def main() -> int:
    backend_port, proxy_port, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", backend_port))
    listener.listen(4096)
    listener.setblocking(False)
    print("listening", flush=True)
    sys.stdin.readline()  # the caller says the proxy is up

    clients, servers = [], []

    def drain_accepts() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(True)
            servers.append(conn)

    deadline = time.monotonic() + TIMEOUT
    for _ in range(count):
        c = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        clients.append(c)
        drain_accepts()
        if time.monotonic() > deadline:
            print("error timeout while connecting", flush=True)
            return 1
    while len(servers) < count:
        if time.monotonic() > deadline:
            print(f"error only {len(servers)} of {count} reached the backend", flush=True)
            return 1
        select.select([listener], [], [], 0.2)
        drain_accepts()
    print(f"connected {len(servers)}", flush=True)
    sys.stdin.readline()

    # One small message each way per pair, so every session has moved data once and gone idle
    # again (an idle session should give its buffers and pipes back).
    # Clients and accepted sockets are not matched by order, so send from every client first,
    # then read and answer on every server, then read on every client.
    msg = b"0123456789abcdef"
    for c in clients:
        c.sendall(msg)
    for s in servers:
        s.settimeout(10)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(len(msg) - len(got))
            if not chunk:
                print("error backend saw EOF", flush=True)
                return 1
            got += chunk
        s.sendall(msg)
    for c in clients:
        got = b""
        while len(got) < len(msg):
            chunk = c.recv(len(msg) - len(got))
            if not chunk:
                print("error client saw EOF", flush=True)
                return 1
            got += chunk
    print(f"exchanged {count}", flush=True)
    sys.stdin.readline()
    for sock in clients + servers:
        sock.close()
    listener.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # report, so the caller does not wait for a line that never comes
        print(f"error {error!r}", flush=True)
        sys.exit(1)
