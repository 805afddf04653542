# syntax=docker/dockerfile:1
# Switchman container image: built with the official Swift image on Debian 12, run on debian slim.
#   docker build -t localhost/switchman .
#   docker run --rm -v "$PWD/deploy/proxy.conf:/etc/switchman/proxy.conf:ro" -p 5432:5432 -p 5433:5433 -p 7000:7000 localhost/switchman
# deploy/docker-compose.yml builds and runs it in front of the seed's Patroni cluster.
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libzookeeper-mt-dev libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# the whole package (SwiftPM wants every declared target's folder, tests included); .dockerignore keeps
# .build and run/ out
COPY . .
# static Swift runtime and Foundation: the runtime image needs only the C libraries below
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product switchman --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/switchman" /out/switchman

FROM debian:bookworm-slim
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libzookeeper-mt2 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin switchman
COPY --from=build /out/switchman /usr/local/bin/switchman
COPY deploy/healthcheck.sh /usr/local/bin/switchman-healthcheck
# a default configuration for the compose cluster; mount your own over it
COPY deploy/proxy.conf /etc/switchman/proxy.conf
USER switchman
# 5432 writes (the leader), 5433 reads (replicas), 7000 stats page and /health
EXPOSE 5432 5433 7000
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/switchman-healthcheck", "http://127.0.0.1:7000/health"]
# SIGTERM (docker stop) drains sessions for up to timeouts.shutdown; give docker stop at least as long
STOPSIGNAL SIGTERM
ENTRYPOINT ["switchman", "run", "--config", "/etc/switchman/proxy.conf"]
