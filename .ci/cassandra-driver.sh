#!/usr/bin/env bash
# The Node cassandra-driver (DataStax, npm) for the perf harness's cassandra-write scenario: the baseline issue 7's target
# is stated against ("8k-10k rows/s with executeConcurrent"). Installed into the git-ignored .ci/.tools/cassandra-driver;
# exports LOWLATENCY_NODE_CASSANDRA_DRIVER with its node_modules directory (the scenario also finds it there by itself).
# Cassandra itself comes from .ci/cassandra.sh. Not part of CI: the scenario is a measurement, not a test.
#
# Source it or run it. Idempotent: installs nothing when the driver is present.

cassandra_driver_install() {
  local root prefix
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  prefix="$root/.ci/.tools/cassandra-driver"
  if [ ! -f "$prefix/node_modules/cassandra-driver/package.json" ]; then
    echo "installing cassandra-driver@4.10.0 (npm) into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error cassandra-driver@4.10.0 >/dev/null
  fi
  export LOWLATENCY_NODE_CASSANDRA_DRIVER="$prefix/node_modules"
  echo "cassandra-driver $(node -p "require('$prefix/node_modules/cassandra-driver/package.json').version") (Node $(node --version)) in $prefix"
}

cassandra_driver_install
