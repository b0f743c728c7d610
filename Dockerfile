# syntax=docker/dockerfile:1
# Multi-stage build: install (lockfile) → type check and test → compile → small runtime image.
ARG BUILD_BASE=oven/bun:1.4-debian
ARG RUNTIME_BASE=debian:bookworm-slim

FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run typecheck && bun test && bun run build

FROM ${RUNTIME_BASE} AS runtime
RUN groupadd --system --gid 10001 custodian \
 && useradd --system --uid 10001 --gid custodian --home-dir /data --shell /usr/sbin/nologin custodian \
 && mkdir -p /data && chown custodian:custodian /data
COPY --from=build /src/dist/custodian /usr/local/bin/custodian
ENV HOST=0.0.0.0 PORT=3000 DATABASE_PATH=/data/custodian.db STORAGE_DIR=/data/files
VOLUME /data
EXPOSE 3000
USER custodian
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["custodian", "healthcheck"]
ENTRYPOINT ["custodian"]
CMD ["serve"]
