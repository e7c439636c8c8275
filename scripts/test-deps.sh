#!/usr/bin/env bash
# Installs what the test suite needs beyond pip packages. Idempotent: does
# nothing when everything is present. Debian packages are installed only when
# running as root (CI and the development machines); elsewhere it says what is missing.
set -euo pipefail

need=()
# Later suites start throwaway servers from these binaries; list them here as they arrive.
for entry in ${PRR_TEST_DEBS:-}; do
  bin=${entry%%:*}; pkg=${entry##*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
else
  echo "missing (install them to run every test): ${need[*]}" >&2
fi
