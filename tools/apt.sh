# Shared by the project's installers of Debian packages (tools/*/install.sh):
# source it, set `me` to the script's name, then `apt_install PACKAGE...`.
# Runs apt-get as root (CI) or through sudo, quietly (its output is shown
# only when it fails), and refreshes the package lists only when they do not
# know the packages or are too old to download them.

apt_install() {
  local packages=("$@") updated=false
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$me: installing ${packages[*]} needs root, and sudo is not available" >&2
      exit 1
    fi
    APT_SUDO=(sudo)
  else
    APT_SUDO=()
  fi
  APT_LOG=$(mktemp)
  trap 'rm -f "$APT_LOG"' EXIT
  echo "$me: installing Debian's ${packages[*]}" >&2
  if ! apt-cache show "${packages[@]}" >/dev/null 2>&1; then
    apt_get update || apt_fail "apt-get update failed"
    updated=true
  fi
  if ! apt_get install --no-install-recommends "${packages[@]}"; then
    $updated && apt_fail "apt-get install ${packages[*]} failed"
    apt_get update || apt_fail "apt-get update failed"
    apt_get install --no-install-recommends "${packages[@]}" || apt_fail "apt-get install ${packages[*]} failed"
  fi
}

apt_get() {
  "${APT_SUDO[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
    apt-get -q -y -o Dpkg::Use-Pty=0 "$@" >>"$APT_LOG" 2>&1
}

# apt_fail shows apt-get's output and the reason, and exits.
apt_fail() {
  [[ -n ${APT_LOG:-} ]] && cat "$APT_LOG" >&2
  echo "$me: $1" >&2
  exit 1
}
