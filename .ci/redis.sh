#!/usr/bin/env bash
# Redis for the tests: Debian's redis-server (7.0.15 on Debian 12). Tests start their own throwaway servers on free
# ports of 127.0.0.1 (tests/LowLatency.TestSupport/Redis), so nothing is started here; the package's own service is
# not needed (and on a machine without systemd it does not start).
#
# Source it from .ci/run (". .ci/redis.sh") or run it. Idempotent: installs nothing and prints one line when
# redis-server is present; needs root (or sudo) and the Debian package archive otherwise.

redis_install() {
  if ! command -v redis-server >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing redis-server (apt-get)"
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  fi
  echo "$(redis-server --version | cut -d' ' -f1-3) (redis-server installed)"
}

redis_install
