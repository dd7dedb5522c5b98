#!/usr/bin/env bash
# The whole stack in the foreground: nginx on BUSI_BIND (default 127.0.0.1:8000) buffers each
# request in full, then hands it to gunicorn on a private unix socket, so slow clients cannot
# tie up the app's threads. Ctrl+C or SIGTERM stops both and removes the run folder.
#
#   scripts/serve.sh                         # http://127.0.0.1:8000
#   BUSI_BIND=0.0.0.0:8000 scripts/serve.sh  # every interface (put TLS in front)
#
# Also: BUSI_CLIENT_TIMEOUT (10 s: header, gap between two body reads, answer reads),
# BUSI_PYTHON (.venv/bin/python), and every BUSI_* setting of the app and gunicorn.conf.py.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIND=${BUSI_BIND:-127.0.0.1:8000}
PYTHON=${BUSI_PYTHON:-$REPO/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
  echo "serve.sh: nginx is not installed (Debian: apt-get install nginx-light, or nginx)" >&2
  exit 1
fi
# One source for the body limit: the app's MAX_CONTENT_LENGTH (or its BUSI_ override).
read -r MAX_BODY MAX_MB < <(cd "$REPO" && "$PYTHON" -c '
import os
from app.config import Config
limit = int(os.environ.get("BUSI_MAX_CONTENT_LENGTH", Config.MAX_CONTENT_LENGTH))
print(limit, f"{limit / (1024 * 1024):g}")')

# Private run folder (socket, nginx config, pid, body spool), in RAM when /dev/shm exists.
BASE=/dev/shm; [ -d "$BASE" ] && [ -w "$BASE" ] || BASE=${TMPDIR:-/tmp}
RUN=$(mktemp -d "$BASE/busi-serve.XXXXXX")
USER_LINE=""
if [ "$(id -u)" = 0 ]; then  # nginx's workers drop root: let them (only them) reach the socket
  USER_LINE="user nobody $(id -gn nobody);"
  chgrp "$(id -gn nobody)" "$RUN" && chmod 750 "$RUN"
fi
sed -e "s|@USER_LINE@|$USER_LINE|" -e "s|@RUN_DIR@|$RUN|g" -e "s|@SOCKET@|$RUN/app.sock|" \
    -e "s|@LISTEN@|$BIND|" -e "s|@MAX_BODY@|$MAX_BODY|" -e "s|@MAX_MB@|$MAX_MB|g" \
    -e "s|@CLIENT_TIMEOUT@|${BUSI_CLIENT_TIMEOUT:-10}|g" \
    "$REPO/deploy/nginx.conf.template" > "$RUN/nginx.conf"

GUNICORN_PID="" NGINX_PID=""
stop() {  # nginx first (QUIT: finish what it holds), then gunicorn (TERM: graceful)
  trap - TERM INT
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null
  [ -n "$GUNICORN_PID" ] && kill -TERM "$GUNICORN_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap 'stop; exit 0' TERM INT
trap 'rm -rf "$RUN"' EXIT

cd "$REPO"
BUSI_ACCESS_LOG="" "$PYTHON" -m gunicorn -c gunicorn.conf.py --bind "unix:$RUN/app.sock" wsgi:app &
GUNICORN_PID=$!
# The master binds the socket once the app (models included) is loaded.
for _ in $(seq 600); do
  [ -S "$RUN/app.sock" ] && break
  kill -0 "$GUNICORN_PID" 2>/dev/null || { echo "serve.sh: gunicorn failed to start" >&2; stop; exit 1; }
  sleep 0.1
done
[ -S "$RUN/app.sock" ] || { echo "serve.sh: gunicorn not ready after 60 s" >&2; stop; exit 1; }
"$NGINX" -e stderr -p "$RUN" -c "$RUN/nginx.conf" &
NGINX_PID=$!
echo "serve.sh: serving on http://$BIND (nginx -> gunicorn); Ctrl+C to stop" >&2

# Either one exiting on its own is a failure: stop the other and say so.
set +e
wait -n "$GUNICORN_PID" "$NGINX_PID"
status=$?
echo "serve.sh: $( kill -0 "$NGINX_PID" 2>/dev/null && echo gunicorn || echo nginx ) exited ($status); stopping" >&2
stop
exit "$status"
