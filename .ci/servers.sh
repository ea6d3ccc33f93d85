#!/usr/bin/env bash
# Throwaway servers for a manual run of the daemon or the perf harness against real stores, on 127.0.0.1, with their
# data in one state directory (never the system's services):
#   .ci/servers.sh start   starts them and prints the environment variables to export (eval "$(.ci/servers.sh start)")
#   .ci/servers.sh stop    stops them and removes the state directory
# State directory: LOWLATENCY_SERVERS_DIR (default /tmp/lowlatency-servers). Ports: LOWLATENCY_POSTGRES_PORT (55432),
# LOWLATENCY_REDIS_PORT (56379), LOWLATENCY_CASSANDRA_PORT (59042; storage port LOWLATENCY_CASSANDRA_STORAGE_PORT, 57000).
# PostgreSQL: a cluster made by initdb, user postgres with password "lowlatency" over TCP; run as root, initdb and
# pg_ctl run as the postgres user. Redis: redis-server with an append-only file (fsync every second) in the state
# directory, no password. Cassandra: Apache Cassandra 2.1 from .ci/cassandra.sh on Java 17 (the same launch as the test
# fixture, tests/LowLatency.TestServers/Cassandra), no login; it takes 5-20 s to answer and holds about 800 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${LOWLATENCY_SERVERS_DIR:-/tmp/lowlatency-servers}
pg_port=${LOWLATENCY_POSTGRES_PORT:-55432}
pg_password=lowlatency
redis_port=${LOWLATENCY_REDIS_PORT:-56379}
cassandra_port=${LOWLATENCY_CASSANDRA_PORT:-59042}
cassandra_storage_port=${LOWLATENCY_CASSANDRA_STORAGE_PORT:-57000}

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

cassandra_start() {
  . .ci/cassandra.sh >&2
  local dir=$state/cassandra home=$LOWLATENCY_CASSANDRA_HOME
  mkdir -p "$dir/logs"
  cat > "$dir/cassandra.yaml" <<YAML
cluster_name: lowlatency
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories: [$dir/data]
commitlog_directory: $dir/commitlog
saved_caches_directory: $dir/saved_caches
commitlog_sync: periodic
commitlog_sync_period_in_ms: 10000
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $cassandra_storage_port
start_native_transport: true
native_transport_port: $cassandra_port
start_rpc: false
endpoint_snitch: SimpleSnitch
YAML
  # The bundled logback.xml logs DEBUG, a few lines per request; INFO keeps start-up, schema changes and errors.
  cat > "$dir/logback.xml" <<XML
<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level %date{HH:mm:ss,SSS} %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT" /></root>
</configuration>
XML
  # Java 17 closes these java.base packages; Cassandra 2.1 (jamm, netty, its off-heap code) reaches into them.
  local flags=() package
  for package in java.lang java.lang.reflect java.lang.ref java.lang.invoke java.util java.util.concurrent \
      java.util.concurrent.atomic java.util.concurrent.locks java.util.regex java.nio java.nio.channels java.nio.charset \
      java.io java.net java.math java.text java.time java.security sun.nio.ch sun.nio.cs jdk.internal.ref \
      jdk.internal.misc jdk.internal.loader sun.security.action; do
    flags+=(--add-opens "java.base/$package=ALL-UNNAMED")
  done
  for package in jdk.internal.ref sun.nio.ch jdk.internal.misc; do
    flags+=(--add-exports "java.base/$package=ALL-UNNAMED")
  done
  nohup java -cp "$home/conf:$home/lib/*" -javaagent:"$home/lib/jamm-0.2.6.jar" -Xms512m -Xmx1g -Xss512k -XX:+UseSerialGC \
    "${flags[@]}" -Dcassandra.config="file://$dir/cassandra.yaml" -Dcassandra-foreground=yes -Dlogback.configurationFile="$dir/logback.xml" -Dcassandra.logdir="$dir/logs" \
    -Dcassandra.storagedir="$dir" -Djava.net.preferIPv4Stack=true org.apache.cassandra.service.CassandraDaemon \
    > "$dir/server.log" 2>&1 &
  echo $! > "$dir/cassandra.pid"
  local waited
  for waited in $(seq 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$cassandra_port") 2>/dev/null && break
    kill -0 "$(cat "$dir/cassandra.pid")" 2>/dev/null || { echo "Cassandra exited; see $dir/server.log" >&2; return 1; }
    sleep 0.5
  done
  echo "Cassandra answers on 127.0.0.1:$cassandra_port after about $((waited / 2)) s" >&2
  printf 'export ASSET_CASSANDRA_HOST=127.0.0.1 ASSET_CASSANDRA_PORT=%s\n' "$cassandra_port"
}

cassandra_stop() {
  local file=$state/cassandra/cassandra.pid pid
  if [ -f "$file" ]; then
    pid=$(cat "$file")
    kill "$pid" 2>/dev/null || true
    # It shuts down in a few seconds; wait, so the state directory is not removed under it.
    for _ in $(seq 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
  fi
}

case "${1:-}" in
  start) postgres_start; redis_start; cassandra_start ;;
  stop) postgres_stop; redis_stop; cassandra_stop; rm -rf "$state" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
