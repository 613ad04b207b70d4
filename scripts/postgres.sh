# Shell functions to run a throwaway PostgreSQL 15, sourced by ./dev and bench/run.
# start_postgres exports ITEMS_TEST_POSTGRES_URL (a database named items_test) and the
# commands that stop and start the server again; start_pgbouncer puts a PgBouncer in
# front of it (ITEMS_TEST_PGBOUNCER_URL); stop_postgres removes it all.

PG_BIN=/usr/lib/postgresql/15/bin

# Runs a command as the PostgreSQL server's owner: the postgres OS user when we are
# root (the server refuses to run as root), ourselves otherwise.
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

# Starts a throwaway PostgreSQL 15 in a temporary folder on a free loopback port.
# Durability is off (fsync, synchronous_commit): the data dies with the folder anyway.
start_postgres() {
  PG_DIR=$(mktemp -d /tmp/items-pg-XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DIR"
  chmod 700 "$PG_DIR"
  local port=$((20000 + $$ % 20000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  as_pg_owner "$PG_BIN/initdb -D $PG_DIR/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync" >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; return 1; }
  # The outage test stops and restarts this server with these commands.
  export ITEMS_TEST_PG_START="$PG_BIN/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log -w -t 60 start -o '-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300'"
  export ITEMS_TEST_PG_STOP="$PG_BIN/pg_ctl -D $PG_DIR/data -w -m fast stop"
  as_pg_owner "$ITEMS_TEST_PG_START" >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
  as_pg_owner "$PG_BIN/createdb -h 127.0.0.1 -p $port -U postgres items_test"
  export PG_PORT=$port
  export ITEMS_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/items_test"
  log "PostgreSQL 15 for the tests on 127.0.0.1:$port ($PG_DIR)"
}

# A PgBouncer (Debian's, 1.18) in transaction pooling mode in front of that server, on
# another free loopback port: any database name passes through to the server (the
# tests create a database each), as the postgres user without a password.
start_pgbouncer() {
  local port=$((PG_PORT + 1))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  cat >"$PG_DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PG_PORT user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
logfile = $PG_DIR/pgbouncer.log
pidfile = $PG_DIR/pgbouncer.pid
INI
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DIR/pgbouncer.ini"
  as_pg_owner "/usr/sbin/pgbouncer -d -q $PG_DIR/pgbouncer.ini" || { cat "$PG_DIR/pgbouncer.log" >&2; return 1; }
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  export ITEMS_TEST_PGBOUNCER_URL="postgresql://postgres@127.0.0.1:$port/items_test"
  log "PgBouncer (transaction pooling) for the tests on 127.0.0.1:$port"
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  [ -f "$PG_DIR/pgbouncer.pid" ] && kill "$(cat "$PG_DIR/pgbouncer.pid")" 2>/dev/null || true
  as_pg_owner "$PG_BIN/pg_ctl -D $PG_DIR/data -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

