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
set -u
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests"
  (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
    || echo "warning: could not install chromium; browser tests will fail under CI"
fi
if [ "${1:-}" = "--database" ] && [ -n "${DEMO_DATABASE_URL:-}" ]; then
  name="${DEMO_DATABASE_URL##*/}"
  server="${DEMO_DATABASE_URL%/*}/postgres"
  if ! psql "$server" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    echo "creating database $name"
    psql "$server" -c "CREATE DATABASE \"$name\"" >/dev/null
  fi
fi
exit 0
