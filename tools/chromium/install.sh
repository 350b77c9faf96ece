#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver, which the browser test
# (tests/browser_test.go) drives headless. Idempotent: silent and instant
# when /usr/bin/chromium is already there. Runs as root (CI) or through sudo.
#
#   bash tools/chromium/install.sh
set -euo pipefail
source "$(dirname "$0")/../apt.sh"

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium chromium-driver)
me=tools/chromium/install.sh

[[ -x $CHROMIUM ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: no apt-get on this machine: install Chromium so that $CHROMIUM exists," \
    "or set SCALEOUT_SKIP_BROWSER=1 to skip the browser test" >&2
  exit 1
fi
apt_install "${PACKAGES[@]}"
[[ -x $CHROMIUM ]] || apt_fail "${PACKAGES[*]} installed, but $CHROMIUM is missing"
echo "$me: $("$CHROMIUM" --version 2>/dev/null)" >&2
