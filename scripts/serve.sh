#!/usr/bin/env bash
# The whole stack in the foreground: nginx on BUSI_BIND (default 127.0.0.1:8000) buffers each
# request in full, then hands it to one of BUSI_INSTANCES gunicorn instances (default 1), each
# on its own private unix socket, so slow clients cannot tie up the app's threads. Ctrl+C or
# SIGTERM stops everything and removes the run folder. docs/serving.md and docs/deployment.md.
#
#   scripts/serve.sh                         # http://127.0.0.1:8000
#   BUSI_BIND=0.0.0.0:8000 scripts/serve.sh  # every interface (put TLS in front)
#   BUSI_INSTANCES=2 scripts/serve.sh        # two instances: either can be restarted under load
#
# Also: BUSI_RATE_LIMIT (uploads a minute per client address, 0: no limit), BUSI_CLIENT_TIMEOUT
# (10 s: header, gap between two body reads, answer reads), BUSI_PYTHON (.venv/bin/python), and
# every BUSI_* setting of the app and gunicorn.conf.py.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIND=${BUSI_BIND:-127.0.0.1:8000}
INSTANCES=${BUSI_INSTANCES:-1}
PYTHON=${BUSI_PYTHON:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
  echo "serve.sh: nginx is not installed (Debian: apt-get install nginx-light, or nginx)" >&2
  exit 1
fi
if ! [[ "$INSTANCES" =~ ^[1-9][0-9]?$ ]]; then
  echo "serve.sh: BUSI_INSTANCES must be a whole number from 1 to 99, not '$INSTANCES'" >&2
  exit 2
fi
# One source for the limits: the app's Config (or its BUSI_ overrides). One secret key for the
# whole stack unless one is given, so a form from one instance posts to any other.
read -r MAX_BODY RATE_LIMIT SECRET < <(cd "$REPO" && "$PYTHON" -c '
import os, secrets, sys
from app.config import Config
limit = int(os.environ.get("BUSI_MAX_CONTENT_LENGTH", Config.MAX_CONTENT_LENGTH))
rate = os.environ.get("BUSI_RATE_LIMIT", str(Config.RATE_LIMIT))
if not rate.isdigit():
    sys.exit(f"serve.sh: BUSI_RATE_LIMIT must be a whole number of uploads a minute (0: no limit), not {rate!r}")
print(limit, int(rate), secrets.token_hex(32))')
export BUSI_SECRET_KEY=${BUSI_SECRET_KEY:-$SECRET}
LIMIT_ZONE="" LIMIT_REQ=""
if [ "$RATE_LIMIT" -gt 0 ]; then
  LIMIT_ZONE="limit_req_zone \$upload_client zone=uploads:10m rate=${RATE_LIMIT}r/m;"
  LIMIT_REQ="limit_req zone=uploads burst=10 nodelay;"
fi

# Private run folder (sockets, metrics, nginx config, pid, body spool), in RAM when /dev/shm exists.
BASE=/dev/shm; [ -d "$BASE" ] && [ -w "$BASE" ] || BASE=${TMPDIR:-/tmp}
RUN=$(mktemp -d "$BASE/busi-serve.XXXXXX")
USER_LINE=""
if [ "$(id -u)" = 0 ]; then  # nginx's workers drop root: let them (only them) reach the sockets
  USER_LINE="user nobody $(id -gn nobody);"
  chgrp "$(id -gn nobody)" "$RUN" && chmod 750 "$RUN"
fi
# Every instance's workers write their metrics here; any instance's /metrics sums them all.
export PROMETHEUS_MULTIPROC_DIR="$RUN/metrics"
mkdir "$PROMETHEUS_MULTIPROC_DIR"
SERVERS=""
for i in $(seq "$INSTANCES"); do SERVERS+="server unix:$RUN/app-$i.sock max_fails=0; "; done
sed -e "s|@USER_LINE@|$USER_LINE|" -e "s|@RUN_DIR@|$RUN|g" -e "s|@SERVERS@|$SERVERS|" \
    -e "s|@LISTEN@|$BIND|" -e "s|@MAX_BODY@|$MAX_BODY|" \
    -e "s|@CLIENT_TIMEOUT@|${BUSI_CLIENT_TIMEOUT:-10}|g" \
    -e "s|@LIMIT_ZONE@|$LIMIT_ZONE|" -e "s|@LIMIT_REQ@|$LIMIT_REQ|g" \
    "$REPO/deploy/nginx.conf.template" > "$RUN/nginx.conf"

declare -A GUNICORN_PIDS=()  # instance number -> its master's pid
NGINX_PID=""
stop() {  # nginx first (QUIT: finish what it holds), then gunicorn (TERM: graceful)
  trap - TERM INT
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
  for pid in "${GUNICORN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap 'stop; exit 0' TERM INT
trap 'rm -rf "$RUN"' EXIT

cd "$REPO"
launch() {  # instance $1: a gunicorn master (and its workers) on app-$1.sock
  rm -f "$RUN/app-$1.sock"  # a killed instance leaves its socket behind
  BUSI_ACCESS_LOG="" "$PYTHON" -m gunicorn -c gunicorn.conf.py --bind "unix:$RUN/app-$1.sock" wsgi:app &
  GUNICORN_PIDS[$1]=$!
}
ready() {  # the master binds its socket once the app (models included) is loaded
  for _ in $(seq 600); do
    [ -S "$RUN/app-$1.sock" ] && return 0
    kill -0 "${GUNICORN_PIDS[$1]}" 2>/dev/null || { echo "serve.sh: gunicorn $1 failed to start" >&2; return 1; }
    sleep 0.1
  done
  echo "serve.sh: gunicorn $1 not ready after 60 s" >&2
  return 1
}
for i in $(seq "$INSTANCES"); do launch "$i"; done
for i in $(seq "$INSTANCES"); do ready "$i" || { stop; exit 1; }; done
"$NGINX" -e stderr -p "$RUN" -c "$RUN/nginx.conf" &
NGINX_PID=$!
echo "serve.sh: serving on http://$BIND (nginx -> $INSTANCES gunicorn); Ctrl+C to stop" >&2

# nginx exiting on its own is a failure: stop everything and say so. An instance that exits is
# started again while nginx sends its requests to the others (one that cannot start stops all).
set +e
while true; do
  wait -n -p exited "$NGINX_PID" "${GUNICORN_PIDS[@]}"
  status=$?
  if [ "$exited" = "$NGINX_PID" ]; then
    echo "serve.sh: nginx exited ($status); stopping" >&2
    stop
    exit "$status"
  fi
  for i in "${!GUNICORN_PIDS[@]}"; do
    [ "${GUNICORN_PIDS[$i]}" = "$exited" ] || continue
    echo "serve.sh: gunicorn $i exited ($status); starting it again" >&2
    launch "$i"
    ready "$i" || { stop; exit 1; }
  done
done
