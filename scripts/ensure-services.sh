#!/usr/bin/env bash
# Start the local PostgreSQL and Redis the tests (and `make demo-scale`) talk to when they are down, and
# install Debian's Chromium for the browser tests. Commands from the machine notes (tool library `env`).
#
# On a fresh Debian/Ubuntu machine, once (as root):
#   apt-get install -y postgresql redis-server
# then this script starts both on 127.0.0.1 (PostgreSQL 5432 with the `postgres` user, Redis 6379).
# Elsewhere: any PostgreSQL >= 13 and Redis >= 6 reachable by URL will do, e.g. with Docker:
#   docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16
#   docker run -d -p 6379:6379 redis:7
#
# `--database` also creates the database named in DEMO_DATABASE_URL when it is missing (make demo-scale).
# When either service is still not answering, it says what to install and exits 1 (before: it printed
# 'starting PostgreSQL' and 'pg_ctlcluster: command not found', exited 0, and the tests failed later).
set -u
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"

answers() {  # a server listening on 127.0.0.1:$1 (bash's /dev/tcp: no client tools needed)
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
wait_for() {
  for _ in $(seq 1 20); do answers "$1" && return 0; sleep 0.5; done
  return 1
}

missing=()
if ! answers "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for "$PG_PORT" || true
  fi
  answers "$PG_PORT" || missing+=("PostgreSQL on 127.0.0.1:$PG_PORT: apt-get install -y postgresql (or: docker run -d -p $PG_PORT:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16)")
fi
if ! answers "$REDIS_PORT"; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    wait_for "$REDIS_PORT" || true
  fi
  answers "$REDIS_PORT" || missing+=("Redis on 127.0.0.1:$REDIS_PORT: apt-get install -y redis-server (or: docker run -d -p $REDIS_PORT:6379 redis:7)")
fi
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests"
  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
    || echo "warning: could not install chromium; browser tests will fail under CI"
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "error: not running, and this script could not start them:" >&2
  for item in "${missing[@]}"; do echo "  - $item" >&2; done
  echo "hint: install what is missing as shown (once, as root), then run the same command again; see the top of scripts/ensure-services.sh" >&2
  exit 1
fi
if [ "${1:-}" = "--database" ] && [ -n "${DEMO_DATABASE_URL:-}" ]; then
  name="${DEMO_DATABASE_URL##*/}"
  server="${DEMO_DATABASE_URL%/*}/postgres"
  if ! command -v psql >/dev/null 2>&1; then
    echo "error: psql (the PostgreSQL client) is not installed; it creates the database $name" >&2
    echo "hint: apt-get install -y postgresql-client, or create the database yourself and run make demo-scale again" >&2
    exit 1
  fi
  if ! psql "$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    echo "creating database $name"
    psql "$server" -c "CREATE DATABASE \"$name\"" >/dev/null
  fi
fi
exit 0
