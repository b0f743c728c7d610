# syntax=docker/dockerfile:1
# Multi-stage: install (lockfile) → type check and test → compile → a small runtime image.
# Base images are build arguments: the defaults come from Docker Hub, named in full so that podman
# and other engines whose default registry is not Docker Hub find them; CI builds offline from a
# debootstrapped Debian (see .ci/container-check), where the build stage fetches Bun from npm.
ARG BUILD_BASE=docker.io/oven/bun:1.4-debian
ARG RUNTIME_BASE=docker.io/library/debian:bookworm-slim

FROM ${BUILD_BASE} AS install
WORKDIR /src
# A base without Bun (a plain Debian) gets it from the npm registry, as CI machines do.
# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret (never baked into a
# layer): --secret id=cacerts,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=cacerts \
    if [ -f /run/secrets/cacerts ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/cacerts; fi \
    && if ! command -v bun >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
      && npm install -g bun@1.4.5 \
      && rm -rf /var/lib/apt/lists/* /root/.npm; \
    fi
COPY package.json bun.lock ./
RUN --mount=type=secret,id=cacerts \
    if [ -f /run/secrets/cacerts ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/cacerts; fi \
    && bun install --frozen-lockfile

FROM install AS test
COPY . .
# SKIP_TESTS=1 only where the same commit was just tested outside the image (CI does both).
ARG SKIP_TESTS=0
RUN bun run typecheck \
    && if [ "$SKIP_TESTS" = "1" ]; then echo "tests skipped: SKIP_TESTS=1"; else bun test; fi

FROM test AS build
RUN bun run build

FROM ${RUNTIME_BASE} AS runtime
# A non-root user owning /data: the database and files live there (a volume).
RUN groupadd --system --gid 10001 custodian \
    && useradd --system --uid 10001 --gid custodian --home-dir /data --shell /usr/sbin/nologin custodian \
    && mkdir -p /data \
    && chown custodian:custodian /data
COPY --from=build /src/dist/custodian /usr/local/bin/custodian
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_PATH=/data/custodian.db \
    STORAGE_DIR=/data/files
VOLUME /data
EXPOSE 3000
USER custodian
WORKDIR /data
# The binary checks itself: the runtime image needs no shell tools or curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["custodian", "healthcheck"]
ENTRYPOINT ["custodian"]
CMD ["serve"]
