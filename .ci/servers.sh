#!/usr/bin/env bash
# Throwaway servers for a manual run of the daemon or the perf harness against real stores, on 127.0.0.1, with their
# data in one state directory (never the system's services):
#   .ci/servers.sh start   starts them and prints the environment variables to export (eval "$(.ci/servers.sh start)")
#   .ci/servers.sh stop    stops them and removes the state directory
# State directory: LOWLATENCY_SERVERS_DIR (default /tmp/lowlatency-servers). Ports: LOWLATENCY_POSTGRES_PORT (55432),
# LOWLATENCY_REDIS_PORT (56379).
# PostgreSQL: a cluster made by initdb, user postgres with password "lowlatency" over TCP; run as root, initdb and
# pg_ctl run as the postgres user. Redis: redis-server with an append-only file (fsync every second) in the state
# directory, no password.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${LOWLATENCY_SERVERS_DIR:-/tmp/lowlatency-servers}
pg_port=${LOWLATENCY_POSTGRES_PORT:-55432}
pg_password=lowlatency
redis_port=${LOWLATENCY_REDIS_PORT:-56379}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  . .ci/postgres.sh >&2
  local bin dir=$state/postgres
  bin=$(dirname "$(postgres_initdb)")
  if [ ! -d "$dir/data" ]; then
    mkdir -p "$dir/sockets"
    printf '%s\n' "$pg_password" > "$dir/password"
    [ "$(id -u)" -ne 0 ] || chown -R postgres "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile "$dir/password" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --no-instructions >/dev/null
    rm -f "$dir/password"
  fi
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $pg_port -k $dir/sockets -c listen_addresses=127.0.0.1" start >&2
  printf 'export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=%s POSTGRES_USER=postgres POSTGRES_PASSWORD=%s POSTGRES_DB=postgres POSTGRES_SSLMODE=disable\n' \
    "$pg_port" "$pg_password"
}

postgres_stop() {
  local dir=$state/postgres initdb
  initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true)
  if [ -n "$initdb" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$(dirname "$initdb")/pg_ctl" -D "$dir/data" -m fast -w stop >&2
  fi
}

redis_start() {
  . .ci/redis.sh >&2
  local dir=$state/redis
  mkdir -p "$dir"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly yes --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/server.log" >&2
  for _ in $(seq 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  printf 'export REDIS_HOST=127.0.0.1 REDIS_PORT=%s\n' "$redis_port"
}

redis_stop() {
  local pid=$state/redis/redis.pid
  if [ -f "$pid" ]; then
    kill "$(cat "$pid")" 2>/dev/null || true
  fi
}

case "${1:-}" in
  start) postgres_start; redis_start ;;
  stop) postgres_stop; redis_stop; rm -rf "$state" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
