# Shell functions to run a throwaway PostgreSQL 15, sourced by ./dev and bench/run.
# start_postgres exports ITEMS_TEST_POSTGRES_URL (a database named items_test) and the
# commands that stop and start the server again; stop_postgres removes it all.

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

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  as_pg_owner "$PG_BIN/pg_ctl -D $PG_DIR/data -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

