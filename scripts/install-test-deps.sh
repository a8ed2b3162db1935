#!/usr/bin/env bash
# Installs the Debian packages the integration and browser tests need, when missing:
# librdkafka-dev (the Kafka mock cluster), influxdb (InfluxDB 1.x), victoria-metrics
# (a server that speaks the InfluxDB v2 write API), chromium (dashboard tests), gcc.
# Idempotent; needs root (CI runs as root) when something is missing.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in librdkafka-dev influxdb victoria-metrics chromium gcc; do
  if have "$pkg"; then echo "test deps: $pkg present"; else need+=("$pkg"); fi
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "test deps: missing ${need[*]}; run this script as root (or: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "test deps: installing ${need[*]}"
apt-get update -qq
# policy-rc.d keeps package scripts from starting system services (tests run their own
# servers on free ports)
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for pkg in "${need[@]}"; do
  have "$pkg" || { echo "test deps: $pkg failed to install" >&2; exit 1; }
  echo "test deps: $pkg installed"
done
