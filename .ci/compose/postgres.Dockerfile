# CI only: PostgreSQL from Debian's package on the debootstrapped base (no registry reachable),
# started like the official image (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB; data in PGDATA).
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
CMD ["/usr/local/bin/postgres-entrypoint"]
