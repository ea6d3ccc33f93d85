#!/usr/bin/env bash
# DuckDB for the Parquet tests: an independent reader of the files our writer produces. No Debian package and no pip
# here; the npm package @duckdb/node-api (DuckDB 1.5.6) brings @duckdb/node-bindings-linux-x64, whose libduckdb.so the
# tests call through P/Invoke (tests/LowLatency.TestSupport/Duckdb). Installed into the git-ignored .ci/.tools/duckdb.
#
# Source it from .ci/run (". .ci/duckdb.sh") or run it. Idempotent: installs nothing when the library is present.
# Exports LOWLATENCY_DUCKDB_LIB with the library's path.

duckdb_install() {
  local root prefix lib
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  prefix="$root/.ci/.tools/duckdb"
  lib="$prefix/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so"
  if [ ! -f "$lib" ]; then
    echo "installing DuckDB (npm install @duckdb/node-api@1.5.6-r.1 into $prefix)"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --silent @duckdb/node-api@1.5.6-r.1 >/dev/null
  fi
  export LOWLATENCY_DUCKDB_LIB="$lib"
  echo "DuckDB $(node -p "require('$prefix/node_modules/@duckdb/node-bindings-linux-x64/package.json').version") (LOWLATENCY_DUCKDB_LIB=$lib)"
}

duckdb_install
