#!/usr/bin/env bash
# Installs the Debian packages the integration and browser tests need, only when missing:
#   librdkafka-dev     librdkafka's mock Kafka cluster (test/support/kafka-mock.c)
#   influxdb           InfluxDB 1.x, the v1 write/query API (test/support/influxdb.ts)
#   victoria-metrics   a server for the InfluxDB v2 write API (test/support/victoria.ts)
#   chromium           the dashboard tests
#   gcc, pkg-config    to build the mock cluster's launcher (when absent)
# Idempotent; prints one line per package; non-interactive (CI runs it as root with no
# stdin). Installing needs root; when everything is present it needs nothing.
#
# The influxdb and victoria-metrics packages ship system services (ports 8086/8088 and
# 8428). The tests never use them: they start their own servers on free loopback ports.
# While installing, a policy-rc.d keeps package scripts from starting services; on a
# systemd machine the freshly installed services are also disabled and stopped.
set -uo pipefail

die() {
  echo "test deps: ERROR: $*" >&2
  exit 1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script needs a Debian-based system (install librdkafka-dev, influxdb 1.x, victoria-metrics, chromium, gcc and pkg-config by other means)"

# package -> why it is present already (a command may come from another package)
need=()
check() {
  local pkg=$1 cmd=${2:-}
  if installed "$pkg"; then
    echo "test deps: $pkg present"
  elif [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
    echo "test deps: $pkg present ($cmd is $(command -v "$cmd"))"
  else
    need+=("$pkg")
  fi
}
check librdkafka-dev
check influxdb
check victoria-metrics
check chromium
check gcc gcc
check pkg-config pkg-config

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "missing ${need[*]}; run this script as root (or: sudo apt-get install --no-install-recommends ${need[*]})"
command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]} and apt-get not found"

export DEBIAN_FRONTEND=noninteractive
# keep package scripts from starting services; leave an existing policy-rc.d as it was
policy=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# installed by edge-sentinel scripts/install-test-deps.sh while it runs\nexit 101\n' > "$policy" && chmod 755 "$policy" && ours=1
fi
cleanup() { if [ -n "$ours" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
echo "test deps: installing ${need[*]} (apt-get update first)"
start=$(date +%s)
log=$(mktemp)
if ! apt-get "${apt_opts[@]}" update -qq >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  die "apt-get update failed (see above)"
fi
if ! apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  rm -f "$log"
  die "apt-get install ${need[*]} failed (see above)"
fi
rm -f "$log"

failed=()
for pkg in "${need[@]}"; do
  if installed "$pkg"; then echo "test deps: $pkg installed"; else failed+=("$pkg"); fi
done
[ ${#failed[@]} -eq 0 ] || die "${failed[*]} not installed after apt-get install"

# on a systemd machine, packages may have enabled (and started) their services
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for pkg in "${need[@]}"; do
    case "$pkg" in
      influxdb | victoria-metrics)
        if systemctl disable --now "$pkg" >/dev/null 2>&1; then
          echo "test deps: $pkg system service disabled (tests run their own on free ports)"
        fi
        ;;
    esac
  done
fi
echo "test deps: done in $(($(date +%s) - start)) s"
