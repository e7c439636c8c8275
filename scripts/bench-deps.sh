#!/usr/bin/env bash
# Installs the peers that bench/scan_vs_peers.py compares prr with. Idempotent:
# does nothing when everything is present.
#   - ripgrep and GNU time (Debian packages; installed only when running as root)
#   - checkov and detect-secrets under bench/.work/peers, so that nothing of
#     theirs lands in the project's .venv. Each gets its own venv there
#     (peers/checkov, peers/detect-secrets): checkov depends on bc-detect-secrets,
#     a fork that installs the same `detect_secrets` package and would overwrite
#     (or be mixed with) upstream detect-secrets in a shared venv.
# Override the interpreter with PYTHON=..., the folder with PEERS_DIR=...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python3}
peers=${PEERS_DIR:-$here/bench/.work/peers}

need=()
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing (install them to compare with ripgrep / measure peak memory): ${need[*]}" >&2
  fi
fi

install_peer() {  # venv name, executable, pip requirement
  local venv=$peers/$1
  if [ -x "$venv/bin/$2" ]; then
    return 0
  fi
  echo "creating $venv with $3"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$3"
  echo "$2 $("$venv/bin/$2" --version 2>&1 | tail -n 1)"
}

install_peer checkov checkov checkov
install_peer detect-secrets detect-secrets detect-secrets
