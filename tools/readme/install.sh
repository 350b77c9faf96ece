#!/usr/bin/env bash
# Installs what the README's shell blocks use besides Go (bash, curl and jq),
# which the README test (tests/readme_test.go) runs: Debian's packages, with
# apt-get. Idempotent: silent and instant when the commands are there. Runs
# as root (CI) or through sudo.
#
#   bash tools/readme/install.sh
set -euo pipefail
source "$(dirname "$0")/../apt.sh"

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
apt_install "${PACKAGES[@]}"
for cmd in "${PACKAGES[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || apt_fail "${PACKAGES[*]} installed, but $cmd is not on PATH"
done
