"""gunicorn settings for a 2-core host: `gunicorn -c gunicorn.conf.py wsgi:app`.

Override with BUSI_BIND, BUSI_WORKERS, BUSI_THREADS, BUSI_PRELOAD=0 (or gunicorn's flags).
"""
import gc
import os
import secrets
import shutil
import socket
import sys
import tempfile

# fpdf keeps the ImportError of its optional `cryptography` (fpdf.encryption.import_error), and with
# it the frames it was first imported under. Imported first by wsgi.py (through app.report), those
# include wsgi.py's, whose globals hold the first app and its models for good: after a HUP the master
# would keep them (+146 MB, measured). Imported here, the frames are this file's.
import fpdf  # noqa: F401
from gunicorn.http import wsgi

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
# (docs/serving.md, "Deployment notes", has the numbers). Never run a prediction at import time.
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

# Prometheus in multiprocess mode (app/metrics.py): each worker writes its metrics to files here
# and /metrics sums them. Set before the app (and prometheus_client) is imported; scripts/serve.sh
# gives one folder to all its instances. Made here otherwise, and removed on exit.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["GUNICORN_CONF_METRICS_DIR"] = \
        tempfile.mkdtemp(prefix="busi-metrics-")


def on_exit(server):
    if os.environ.get("GUNICORN_CONF_METRICS_DIR"):
        shutil.rmtree(os.environ["GUNICORN_CONF_METRICS_DIR"], ignore_errors=True)


def on_reload(server):
    """SIGHUP is how a model update is served: the old workers finish their requests while new
    ones start. With preload, gunicorn would fork the new workers from the app it already has:
    build it again here, so they load the model files as they are now (if they load)."""
    if not server.cfg.preload_app:
        return
    sys.modules.pop("wsgi", None)
    try:
        server.app.callable = server.app.load()
    except Exception:  # a broken update must not take the instance down: the old models serve on
        server.log.exception("Models not reloaded; the ones loaded before keep serving")
        return
    gc.collect()  # the old app's reference cycles (and its models) now, not at the master's next full GC
    server.log.info("Models reloaded: %s", server.app.callable.extensions["pipeline"].version)


class _Held:
    """Stands in for a connection's socket inside a response: keeps what gunicorn writes to it."""

    def __init__(self):
        self.parts = []

    def sendall(self, data):
        self.parts.append(bytes(data))


# gunicorn's own Response: after a HUP this file runs again, when wsgi.Response is already ours.
_GunicornResponse = getattr(wsgi.Response, "gunicorn_response", wsgi.Response)


class OneWriteResponse(_GunicornResponse):
    """Each answer leaves the worker in one write, status line, headers and body together, once the
    app has produced all of it; before that the proxy has received nothing.

    Why: gunicorn's Response writes the status line and headers (send_headers), then each body item,
    in separate socket writes. A worker killed between them (SIGKILL, the OOM killer, a crash) leaves
    nginx a complete header and a short body, and nginx has committed to that answer by then: it
    resends a request to another instance (proxy_next_upstream) only while no response header has
    arrived, and with buffering on it still passes the header on and cuts the client off, a 200 with
    no body. No nginx setting holds a header back until the body is complete (measured with nginx
    1.22: larger proxy_buffers, no temp file, postpone_output 1m: the same cut 200, no resend), so
    the fix is here: a worker that dies before its single write has sent nginx nothing, and nginx
    resends the upload, as for a refused connect. A write that does not block is never cut by a
    signal; so that it need not block, the socket's send buffer is raised to the answer's size first
    (the kernel caps it at twice net.core.wmem_max: 416 KiB on a stock kernel; an answer beyond that
    is whole only if nginx keeps reading, which it does). docs/deployment.md, "Restarts".

    Costs: the whole answer is in memory once more (the app's answers are already built in memory:
    JSON, pages, small static files); no streaming; no sendfile() (file bodies are read and held).
    """

    gunicorn_response = _GunicornResponse

    def __init__(self, req, sock, cfg, *args):
        super().__init__(req, sock, cfg, *args)
        self.connection, self.sock = sock, _Held()

    def can_sendfile(self):
        return False  # sendfile() would write to the connection itself

    def close(self):
        super().close()  # the headers if no body was written, the last chunk of a chunked answer
        answer = b"".join(self.sock.parts)
        # Room for twice the answer (the kernel counts its own bookkeeping against the buffer too, and
        # doubles what it is asked for): one syscall, only for answers over ~100 KB on a unix socket.
        if 2 * len(answer) > self.connection.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, len(answer))
        self.connection.sendall(answer)


# The sync, gthread and async workers build every HTTP/1 response as wsgi.Response (HTTP/2 has its own).
wsgi.Response = OneWriteResponse
