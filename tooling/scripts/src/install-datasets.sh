#!/usr/bin/env bash
# Makes sure the datasets that apps/cli reads from Debian packages are on this machine:
# the UCI optical-recognition digits (1,797 8×8 images) that Debian's python3-sklearn ships as
# sklearn/datasets/data/digits.csv.gz. Installs the package with apt-get when the file is
# missing, as root or through sudo; does nothing when it is already there.
# The npm datasets (Moby-Dick, vega-datasets) come with `pnpm install`.
set -euo pipefail
# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"

DIGITS=/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
if [ -f "$DIGITS" ]; then
  echo "UCI digits at $DIGITS"
  exit 0
fi

echo "$DIGITS is missing: installing Debian's python3-sklearn"
apt_install --no-install-recommends python3-sklearn
if [ ! -f "$DIGITS" ]; then
  echo "apt-get installed python3-sklearn, but $DIGITS is still missing" >&2
  exit 1
fi
echo "UCI digits at $DIGITS"
