#!/usr/bin/env bash
# Makes sure Debian's PyTorch and pytest are importable by /usr/bin/python3 for the tests of
# packages/torch (the python3 first on PATH may be another interpreter that cannot see Debian's
# packages). Installs python3-torch (1.13.1 on Debian 12, with gloo and torchrun) and
# python3-pytest with apt-get when either is missing, as root or through sudo.
set -euo pipefail
# shellcheck source=apt-install.sh
source "$(dirname "$0")/apt-install.sh"

PYTHON=/usr/bin/python3
have() { [ -x "$PYTHON" ] && "$PYTHON" -c "import $1" 2>/dev/null; }

if have torch && have pytest; then
  echo "torch $("$PYTHON" -c 'import torch; print(torch.__version__)') and pytest at $PYTHON"
  exit 0
fi

echo "$PYTHON cannot import torch or pytest: installing Debian's python3-torch and python3-pytest"
apt_install python3-torch python3-pytest
if ! have torch || ! have pytest; then
  echo "apt-get installed python3-torch and python3-pytest, but $PYTHON still cannot import them" >&2
  exit 1
fi
echo "torch $("$PYTHON" -c 'import torch; print(torch.__version__)') and pytest at $PYTHON"
