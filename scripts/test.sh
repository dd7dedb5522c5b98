#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet -r requirements-dev.txt
if ! command -v chromium >/dev/null; then   # the browser tests drive Debian's headless Chromium
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
.venv/bin/python -m pytest "$@"
