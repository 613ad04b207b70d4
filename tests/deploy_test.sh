#!/usr/bin/env bash
# The deployment files are valid for the tools that read them (no image is built: there is no
# container engine here):
#   - deploy/docker-compose.yml: `docker-compose config` (Debian's docker-compose, no engine
#     needed), with the secrets deploy/make-secrets writes; no secret value in the file;
#   - deploy/nginx.conf: `nginx -t` (Debian's nginx), with Compose's host name `api` as loopback;
#   - deploy/pgbouncer.ini: Debian's PgBouncer runs with it (on loopback), and when the test
#     PostgreSQL is there (ITEMS_TEST_POSTGRES_URL, PG_PORT) it lets a client in with the
#     password make-secrets wrote (SCRAM) and passes its statements on;
#   - deploy/Dockerfile: its runtime packages exist in Debian 12 and provide every shared
#     library the binary needs; no secret in an ENV or ARG.
# Usage: tests/deploy_test.sh path/to/items-api
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# --- Compose -----------------------------------------------------------------------------
cp -r "$root/deploy" "$work/"
rm -rf "$work/deploy/secrets"
(cd "$work/deploy" && ./make-secrets >/dev/null) || fail "deploy/make-secrets failed"
for s in secret_key postgres_password database_url database_url_pooled pgbouncer_users; do
  [ -s "$work/deploy/secrets/$s.txt" ] || fail "make-secrets wrote no $s"
done
if ! (cd "$work/deploy" && docker-compose -f docker-compose.yml config -q); then
  fail "docker-compose config refuses deploy/docker-compose.yml"
fi
config=$(cd "$work/deploy" && docker-compose -f docker-compose.yml config 2>/dev/null || true)
for want in "condition: service_healthy" "condition: service_completed_successfully" "replicas: 3" \
            "SECRET_KEY_FILE: /run/secrets/secret_key" "DATABASE_URL_FILE: /run/secrets/database_url" \
            "DATABASE_URL_FILE: /run/secrets/database_url_pooled" 'DB_PREPARED_STATEMENTS: "false"'; do
  grep -qF "$want" <<<"$config" || fail "the Compose file has no '$want'"
done
if grep -qE '^\s+(SECRET_KEY|DATABASE_URL|POSTGRES_PASSWORD):' "$root/deploy/docker-compose.yml"; then
  fail "a secret's value is in deploy/docker-compose.yml (use its _FILE form and secrets:)"
fi
# The database URL make-secrets writes is one the service accepts.
if ! DATABASE_URL_FILE="$work/deploy/secrets/database_url.txt" "$binary" openapi >/dev/null; then
  fail "items-api refuses the DATABASE_URL that make-secrets wrote"
fi

# --- nginx -------------------------------------------------------------------------------
mkdir -p "$work/nginx/logs"
sed 's/server api:8000\([ ;]\)/server 127.0.0.1:8000\1/' "$root/deploy/nginx.conf" >"$work/nginx/nginx.conf"
grep -q 'server 127.0.0.1:8000[ ;]' "$work/nginx/nginx.conf" || fail "deploy/nginx.conf has no 'server api:8000'"
if ! nginx -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "pid $work/nginx/nginx.pid; error_log stderr;"; then
  fail "nginx -t refuses deploy/nginx.conf"
fi

# --- PgBouncer -----------------------------------------------------------------------------
# PgBouncer refuses to run as root: as the postgres user then, which must read its files.
as_pgbouncer() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
mkdir -p "$work/pgbouncer"
# Below Linux's ephemeral range (32768 and up): the suite's outgoing connections, thousands
# at once beside this test, take their local ports there, and PgBouncer once failed to
# bind such a port ("Address already in use") that no listener probe could have seen.
bouncer_port=$(( 20000 + (${PG_PORT:-21000} + 100) % 12000 ))
bouncer_up=false
for _ in 1 2 3 4 5; do
  while (exec 3<>"/dev/tcp/127.0.0.1/$bouncer_port") 2>/dev/null; do bouncer_port=$((bouncer_port + 1)); done
  sed -e "s|^listen_addr = .*|listen_addr = 127.0.0.1|" -e "s|^listen_port = .*|listen_port = $bouncer_port|" \
      -e "s|^auth_file = .*|auth_file = $work/deploy/secrets/pgbouncer_users.txt|" \
      -e "s|^logfile =.*|logfile = $work/pgbouncer/log|" -e "s|^pidfile =.*|pidfile = $work/pgbouncer/pid|" \
      -e "s|^app = host=db port=5432 dbname=app|app = host=127.0.0.1 port=${PG_PORT:-5432} dbname=items_test user=postgres|" \
      "$root/deploy/pgbouncer.ini" >"$work/pgbouncer/pgbouncer.ini"
  grep -q "dbname=items_test" "$work/pgbouncer/pgbouncer.ini" || fail "deploy/pgbouncer.ini has no 'app = host=db port=5432 dbname=app'"
  chmod 755 "$work" "$work/deploy" "$work/deploy/secrets" && chmod 644 "$work/deploy/secrets/"*
  [ "$(id -u)" -ne 0 ] || chown postgres "$work/pgbouncer"
  as_pgbouncer "pgbouncer -d -q $work/pgbouncer/pgbouncer.ini" || break
  # (Up to 20 s: with the rest of the suite running beside it, 5 s was once not enough.)
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$bouncer_port") 2>/dev/null && { bouncer_up=true; break; }
    grep -q "nowhere to listen" "$work/pgbouncer/log" 2>/dev/null && break
    sleep 0.1
  done
  $bouncer_up && break
  grep -q "Address already in use" "$work/pgbouncer/log" 2>/dev/null || break
  : >"$work/pgbouncer/log"  # taken meanwhile: the next free port
  bouncer_port=$((bouncer_port + 1))
done
if $bouncer_up; then
  if [ -n "${ITEMS_TEST_POSTGRES_URL:-}" ]; then
    password=$(cat "$work/deploy/secrets/postgres_password.txt")
    answer=$(psql -X -At "postgresql://app:$password@127.0.0.1:$bouncer_port/app" -c "SELECT 40 + 2" 2>&1 || true)
    [ "$answer" = 42 ] || fail "no statement through PgBouncer with deploy/pgbouncer.ini: $answer"
    wrong=$(psql -X -At "postgresql://app:wrong@127.0.0.1:$bouncer_port/app" -c "SELECT 1" 2>&1 || true)
    grep -qE "password authentication failed|SASL authentication failed" <<<"$wrong" || fail "PgBouncer let a wrong password in: $wrong"
  fi
  kill "$(cat "$work/pgbouncer/pid")" 2>/dev/null || true
else
  fail "PgBouncer does not listen with deploy/pgbouncer.ini: $(tail -5 "$work/pgbouncer/log" 2>/dev/null)"
fi

# --- Dockerfile ----------------------------------------------------------------------------
dockerfile="$root/deploy/Dockerfile"
if grep -qiE '^\s*(ENV|ARG)\b.*(SECRET|PASSWORD|postgres(ql)?://)' "$dockerfile"; then
  fail "a secret in deploy/Dockerfile"
fi
# The runtime stage's apt-get install list: the lines after `install -y`, up to the next `&&`.
packages=$(awk '/^FROM debian:12-slim/{rt=1} rt && /install -y/{on=1; next} rt && on{if ($0 ~ /&&/) exit; print}' "$dockerfile" |
  tr -d '\\' | tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' || true)
[ -n "$packages" ] || fail "no runtime packages found in deploy/Dockerfile"
for p in $packages; do
  apt-cache show "$p" >/dev/null 2>&1 || fail "deploy/Dockerfile installs $p, which Debian 12 does not have"
done
# Every library the binary needs comes from one of them or from the base image (C and C++
# runtimes); the sanitizers' own are the test build's.
base="libc6 libgcc-s1 libstdc++6"
# Read whole, once: a reader that stops early would end ldconfig with SIGPIPE, which
# pipefail takes for a failure.
libraries=$(ldconfig -p)
for lib in $(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  case $lib in libasan.so* | libubsan.so*) continue ;; esac
  path=$(awk -v l="$lib" '$1 == l && !found {print $NF; found = 1}' <<<"$libraries")
  [ -n "$path" ] || { fail "cannot find $lib"; continue; }
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
  [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1 || true)
  [ -n "$pkg" ] || { fail "no package has $path"; continue; }
  grep -qwF -- "$pkg" <<<"$packages $base" || fail "$lib ($pkg) is needed but deploy/Dockerfile does not install it"
done

if [ $failures -gt 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "deploy files: valid"
