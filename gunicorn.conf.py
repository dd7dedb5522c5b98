"""gunicorn settings for a 2-core host: `gunicorn -c gunicorn.conf.py wsgi:app`.

Override with BUSI_BIND, BUSI_WORKERS, BUSI_THREADS, BUSI_PRELOAD=0 (or gunicorn's flags).
"""
import os
import secrets

bind = os.environ.get("BUSI_BIND", "127.0.0.1:8000")
# One worker per core: a prediction is CPU-bound (LiteRT, one thread per interpreter).
workers = int(os.environ.get("BUSI_WORKERS", "2"))
# Two threads let a worker read and decode the next upload while its models run; each
# interpreter has a lock, so more threads would add queueing, not speed, and multiply the
# worst-case memory (a 16 MP upload peaks at ~420 MB).
worker_class = "gthread"
threads = int(os.environ.get("BUSI_THREADS", "2"))
timeout = 30
graceful_timeout = 30
keepalive = 5
# No gunicornc control socket (~/.gunicorn/gunicorn.ctl): nothing here manages workers at
# run time, and two servers for one user would fight over that one path.
control_socket_disable = True
# The master loads the app (models included) once and forks the workers. Measured safe
# with LiteRT: the interpreters are built but never invoked before the fork, so no
# XNNPACK thread pool or lock is copied mid-use; workers give the same probabilities as
# without preload, with 1 or 2 LiteRT threads, under 20 concurrent uploads. The weights
# pages stay shared: each worker holds ~60 MB of its own instead of ~170 MB
# (README.md, "Deployment notes", has the numbers). Never run a prediction at import time.
preload_app = os.environ.get("BUSI_PRELOAD", "1") != "0"

# Access log without client addresses, query strings or referrers: method, path, status,
# size and milliseconds only. The app takes personal data only in POST bodies, never logged.
# BUSI_ACCESS_LOG= (empty) turns it off: scripts/serve.sh does, since nginx logs each request.
accesslog = os.environ.get("BUSI_ACCESS_LOG", "-") or None
access_log_format = '"%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# CSRF tokens live in a signed session cookie: every worker must sign with the same key.
# The master runs this file before forking, so the workers inherit one random key (a
# restart invalidates open forms). Several hosts behind one name must set BUSI_SECRET_KEY.
os.environ.setdefault("BUSI_SECRET_KEY", secrets.token_hex(32))
