#!/usr/bin/env bash
# Kafka for the build, the tests and the perf harness: Debian's native librdkafka (2.0.2 on Debian 12), which
# Confluent.Kafka 1.9.3 and the mock broker (tests/LowLatency.KafkaBroker) call into. librdkafka1 is the library;
# librdkafka-dev adds the librdkafka.so name that Confluent.Kafka looks for first (LibRdKafka.EnsureResolvable also
# copes without it). No Kafka server is installed: tests start librdkafka's own mock cluster.
#
# Source it from .ci/run (". .ci/kafka.sh") or run it. Idempotent: installs nothing and prints one line when both
# packages are present; needs root (or sudo) and the Debian package archive otherwise.

kafka_packages=(librdkafka1 librdkafka-dev)

kafka_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}\n' "${kafka_packages[@]}" 2>/dev/null | grep -c '^installed$')" -eq "${#kafka_packages[@]}" ]
}

kafka_install() {
  if ! kafka_installed; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${kafka_packages[*]} (apt-get)"
    $sudo apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${kafka_packages[@]}" >/dev/null
  fi
  echo "librdkafka $(dpkg-query -W -f='${Version}' librdkafka1) ($(printf '%s ' "${kafka_packages[@]}")installed)"
}

kafka_install
