# PgBouncer from Debian 12's own package (1.18), for deploy/docker-compose.yml: the API's
# replicas share a few PostgreSQL connections through it (transaction pooling). Its
# configuration (deploy/pgbouncer.ini) is mounted; the password file is a Compose secret.
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends pgbouncer \
 && rm -rf /var/lib/apt/lists/*
# The package's own unprivileged user: PgBouncer refuses to run as root.
USER postgres
EXPOSE 6432
STOPSIGNAL SIGINT
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
