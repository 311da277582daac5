#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (headless, driven by
# playwright-core; no browser is ever downloaded by npm packages). Installs it with apt-get when
# missing, as root or through sudo.
set -euo pipefail
# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "$("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM"
  exit 0
fi

echo "$CHROMIUM is missing: installing Debian's chromium"
apt_install chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "apt-get installed chromium, but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "$("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM"
