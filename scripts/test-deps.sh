#!/usr/bin/env bash
# Installs what the test suite needs beyond pip packages: the servers that tests
# start as throwaway instances (nginx, PostgreSQL, Redis, Prometheus, Alertmanager)
# and the tools they use (openssl, kubectl is optional). Idempotent: does nothing
# when everything is present. Debian packages are installed only when running as
# root (CI and the development machines); elsewhere it says what is missing.
set -euo pipefail

# binary:package pairs; a binary is looked up on PATH and in the usual sbin/lib folders.
wanted=(
  "nginx:nginx"
  "prometheus:prometheus"
  "prometheus-alertmanager:prometheus-alertmanager"
  "redis-server:redis-server"
  "openssl:openssl"
  "initdb:postgresql"
  "chromium:chromium"
  "pdftotext:poppler-utils"
  "wrk:wrk"
)

have() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ] && return 0
  [ "$1" = initdb ] && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
  return 1
}

need=()
for entry in "${wanted[@]}" ${PRR_TEST_DEBS:-}; do
  bin=${entry%%:*}; pkg=${entry##*:}
  have "$bin" || need+=("$pkg")
done

# Libraries and fonts (not binaries) that PDF rendering needs.
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi 'DejaVu Sans' || need+=(fonts-dejavu-core)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing: ${need[*]}"
  # Keep the packages' own services from starting: tests start their own instances.
  policy=/usr/sbin/policy-rc.d
  created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1
  fi
  trap '[ "$created" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing (install them to run every test): ${need[*]}" >&2
fi
