#!/usr/bin/env bash
# Installs Debian's PostgreSQL and MariaDB servers and clients, which the
# database tests (internal/testkit/dbtest) start on loopback ports of their
# own, with data directories under the test's temporary folder. Idempotent:
# silent and instant when both servers are there. Runs as root (CI) or
# through sudo. The packages' own services are not started (a policy-rc.d
# refuses them while apt-get runs): the tests start their own servers, and a
# system service would hold ports and memory for nothing.
#
#   bash tools/databases/install.sh
set -euo pipefail
source "$(dirname "$0")/../apt.sh"

me=tools/databases/install.sh
POLICY=/usr/sbin/policy-rc.d

have_postgres() {
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
have_mariadb() {
  { command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]]; } &&
    command -v mariadb-install-db >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1
}

PACKAGES=()
have_postgres || PACKAGES+=(postgresql postgresql-client)
have_mariadb || PACKAGES+=(mariadb-server mariadb-client)
[[ ${#PACKAGES[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$me: no apt-get on this machine: install ${PACKAGES[*]} (initdb, postgres," \
    "mariadb-install-db and mariadbd are used), or set SCALEOUT_SKIP_DATABASES=1 to skip the database tests" >&2
  exit 1
fi

# Keep the packages from starting their services: Debian's maintainer
# scripts ask invoke-rc.d, which asks policy-rc.d; 101 means "not allowed".
# One already there (a container image's) is left as it is.
if [[ ! -e $POLICY ]]; then
  SUDO=()
  [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
  printf '#!/bin/sh\n# %s: no service starts while it installs packages\nexit 101\n' "$me" |
    "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  trap '"${SUDO[@]}" rm -f "$POLICY"' EXIT
fi

# A subshell: apt.sh sets its own EXIT trap, which must not replace ours.
(apt_install "${PACKAGES[@]}")
have_postgres || { echo "$me: ${PACKAGES[*]} installed, but PostgreSQL's initdb and postgres are missing" >&2; exit 1; }
have_mariadb || { echo "$me: ${PACKAGES[*]} installed, but mariadbd, mariadb-install-db or mariadb is missing" >&2; exit 1; }
echo "$me: installed ${PACKAGES[*]}" >&2
