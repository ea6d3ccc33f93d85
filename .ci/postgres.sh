#!/usr/bin/env bash
# PostgreSQL for the tests of the warm-tier writer (src/LowLatency.Postgres): Debian's server binaries (PostgreSQL 15 on
# Debian 12, in /usr/lib/postgresql/15/bin). Only the binaries are needed: each test run starts its own throwaway
# cluster (tests/LowLatency.TestSupport/Postgres/PostgresServerFixture.cs: initdb into a temp dir, pg_ctl on a free port
# of 127.0.0.1), so the system service is neither started nor used. policy-rc.d keeps the package's install scripts
# from starting it where they would (a machine with an init system).
#
# Source it from .ci/run (". .ci/postgres.sh") or run it. Idempotent: installs nothing and prints one line when initdb
# is present; needs root (or sudo) and the Debian package archive otherwise.

postgres_initdb() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true # absent: empty, not a failure (set -e)
}

postgres_install() {
  if [ -z "$(postgres_initdb)" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing postgresql (apt-get)"
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
    fi
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    [ -z "$created_policy" ] || $sudo rm -f "$policy"
  fi
  local initdb
  initdb=$(postgres_initdb)
  if [ -z "$initdb" ]; then
    echo "postgresql installed, but no initdb under /usr/lib/postgresql/*/bin" >&2
    return 1
  fi
  echo "PostgreSQL server binaries: $(dirname "$initdb") ($("$initdb" --version))"
}

postgres_install
