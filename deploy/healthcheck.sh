#!/bin/bash
# Container health check without curl: exit 0 when GET URL answers with a 2xx status.
#   switchman-healthcheck [http://127.0.0.1:7000/health]
# Uses bash's /dev/tcp so the runtime image needs no HTTP client; Docker's HEALTHCHECK --timeout bounds it.
set -u
url=${1:-http://127.0.0.1:7000/health}
rest=${url#http://}
hostport=${rest%%/*}
path=/${rest#*/}
[[ "$rest" == */* ]] || path=/
host=${hostport%:*}
port=${hostport##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
read -r -t 3 _ status _ <&3 || exit 1
[[ "$status" == 2[0-9][0-9] ]]
