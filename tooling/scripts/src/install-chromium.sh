#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests (headless, driven by
# playwright-core; no browser is ever downloaded by npm packages). Installs it with apt-get when
# missing, as root or through sudo.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "$("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM"
  exit 0
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

echo "$CHROMIUM is missing: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "apt-get installed chromium, but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "$("$CHROMIUM" --version 2>/dev/null) at $CHROMIUM"
