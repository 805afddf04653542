# Switchman container image: built with the official Swift image on Debian 12, run on debian slim.
#   docker build -t localhost/switchman .
#   docker run --rm -v "$PWD/deploy/proxy.conf:/etc/switchman/proxy.conf:ro" -p 5432:5432 -p 5433:5433 -p 7000:7000 localhost/switchman
# deploy/docker-compose.yml builds and runs it in front of the seed's Patroni cluster.
#
# No `# syntax=` line and no `RUN --mount`: the build needs no frontend image from a registry and no
# BuildKit, so it works with the classic builder of Debian 12's docker.io and on air-gapped hosts.
# What it needs: the two base images below, Debian's apt repositories (or a local mirror) for the
# package installs, and the SwiftPM dependencies: fetched from GitHub unless the build context carries
# them (run `swift package resolve` in the repository first; .dockerignore lets .build/checkouts,
# .build/repositories, .build/workspace-state.json and Package.resolved into the context).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libzookeeper-mt-dev libpq-dev pkg-config binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# the whole package (SwiftPM wants every declared target's folder, tests included); .dockerignore keeps
# build products and run/ out
COPY . .
# static Swift runtime and Foundation: the runtime image needs only the C libraries below. Stripped:
# the symbol table is for debuggers only (82 MB -> 61 MB).
RUN swift build -c release --product switchman --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/switchman" /out/switchman \
    && strip --strip-all /out/switchman \
    && /out/switchman --version

FROM ${RUNTIME_IMAGE}
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends libzookeeper-mt2 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin switchman
COPY --from=build /out/switchman /usr/local/bin/switchman
# a default configuration for the compose cluster; mount your own over it, or point SWITCHMAN_CONFIG
# at another file
COPY deploy/proxy.conf /etc/switchman/proxy.conf
ENV SWITCHMAN_CONFIG=/etc/switchman/proxy.conf
USER switchman
# 5432 writes (the leader), 5433 reads (replicas), 7000 stats page and /health
EXPOSE 5432 5433 7000
# the binary probes itself: no shell, no curl in the image
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["switchman", "health", "--timeout", "2", "http://127.0.0.1:7000/health"]
# SIGTERM (docker stop) drains sessions for up to timeouts.shutdown; give docker stop at least as long
STOPSIGNAL SIGTERM
# `run` reads $SWITCHMAN_CONFIG; other subcommands work too: `docker run IMAGE check-config FILE`,
# `docker run IMAGE health URL`
ENTRYPOINT ["switchman"]
CMD ["run"]
