# Sourced by the install-*.sh scripts: `apt_install [apt options] PACKAGE…` installs Debian
# packages with apt-get, non-interactively, as root or through sudo.
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "$@"
}
