#!/usr/bin/env bash
# Install everything the tests need on a fresh machine, then run them. Each step says what
# it is doing and shows pip's and apt's own progress (the first run takes several minutes).
# Arguments go to pytest: `./scripts/test.sh -m "not slow"` is the fast loop.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "==> $*"; }

step "Python packages into .venv (this project, editable, with its train and test extras)"
python3 -m venv .venv
# pip's per-package lines are the progress; those for packages already there are noise.
.venv/bin/pip install -e '.[train,test]' | { grep -v '^Requirement already satisfied' || true; }

# Debian packages: chromium for the browser tests, nginx for the serve.sh stack tests.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  step "Debian packages: ${missing[*]} (about 90 s; apt's progress follows)"
  $SUDO apt-get update
  # nginx-light (Debian 12) is the small build without the extra modules; later releases have only nginx.
  if [[ " ${missing[*]} " == *" nginx "* ]] && apt-cache show nginx-light >/dev/null 2>&1; then
    missing=("${missing[@]/#nginx/nginx-light}")
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

step "Lint (ruff, configured in pyproject.toml)"
.venv/bin/ruff check .

step "Tests (the 25 slowest listed at the end)"
.venv/bin/python -m pytest --durations=25 "$@"
