#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver, which the browser test
# (tests/browser_test.go) drives headless. Idempotent: silent and instant
# when /usr/bin/chromium is already there. Runs as root (CI) or through sudo.
#
#   bash tools/chromium/install.sh
set -euo pipefail

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium chromium-driver)
me=tools/chromium/install.sh

[[ -x $CHROMIUM ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: no apt-get on this machine: install Chromium so that $CHROMIUM exists," \
    "or set SCALEOUT_SKIP_BROWSER=1 to skip the browser test" >&2
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
updated=false
# Refresh the package lists only when they do not know the packages yet.
if ! apt-cache show "${PACKAGES[@]}" >/dev/null 2>&1; then
  apt_get update || fail "apt-get update failed"
  updated=true
fi
if ! apt_get install --no-install-recommends "${PACKAGES[@]}"; then
  # Lists that know the packages can still be too old to download them.
  $updated && fail "apt-get install ${PACKAGES[*]} failed"
  apt_get update || fail "apt-get update failed"
  apt_get install --no-install-recommends "${PACKAGES[@]}" || fail "apt-get install ${PACKAGES[*]} failed"
fi
[[ -x $CHROMIUM ]] || fail "${PACKAGES[*]} installed, but $CHROMIUM is missing"
echo "$me: $("$CHROMIUM" --version 2>/dev/null)" >&2
