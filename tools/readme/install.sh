#!/usr/bin/env bash
# Installs what the README's shell blocks use besides Go (bash, curl and jq),
# which the README test (tests/readme_test.go) runs: Debian's packages, with
# apt-get. Idempotent: silent and instant when the commands are there. Runs
# as root (CI) or through sudo.
#
#   bash tools/readme/install.sh
set -euo pipefail

me=tools/readme/install.sh
PACKAGES=()
for cmd in curl jq; do
  command -v "$cmd" >/dev/null 2>&1 || PACKAGES+=("$cmd")
done
[[ ${#PACKAGES[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: no apt-get on this machine: install ${PACKAGES[*]} (the README's examples use them)" >&2
  exit 1
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$me: installing ${PACKAGES[*]} needs root, and sudo is not available" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt_get() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get -q -y -o Dpkg::Use-Pty=0 "$@" >>"$log" 2>&1
}
fail() {
  cat "$log" >&2
  echo "$me: $1" >&2
  exit 1
}

echo "$me: installing Debian's ${PACKAGES[*]}" >&2
# Refresh the package lists only when they do not know the packages yet, or
# are too old to download them.
if ! apt-cache show "${PACKAGES[@]}" >/dev/null 2>&1 || ! apt_get install --no-install-recommends "${PACKAGES[@]}"; then
  apt_get update || fail "apt-get update failed"
  apt_get install --no-install-recommends "${PACKAGES[@]}" || fail "apt-get install ${PACKAGES[*]} failed"
fi
for cmd in "${PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || fail "${PACKAGES[*]} installed, but $cmd is not on PATH"
done
