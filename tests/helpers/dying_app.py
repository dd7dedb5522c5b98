"""A WSGI app for gunicorn.conf.py's one-write answers (tests/deploy/test_gunicorn.py): it lets a test
kill the worker serving it while an answer is half written, as a SIGKILL under load can.

    DYING_APP_DIR=/some/folder gunicorn -c gunicorn.conf.py tests.helpers.dying_app:app

GET /die-mid-answer: the headers (gunicorn writes them on the first body item, here empty) and half the
    body, then the worker SIGKILLs itself, the first time only (it leaves `died` in DYING_APP_DIR);
    later requests get the whole body.
GET /large?bytes=N: N bytes in one item. The worker writes its pid to `pid` when it starts the answer
    and touches `sent` once gunicorn has written all of it (the body's close(), after gunicorn's).
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from urllib.parse import parse_qs

HALF = b"x" * 1000


def app(environ, start_response):
    folder = Path(os.environ["DYING_APP_DIR"])
    if environ["PATH_INFO"] == "/die-mid-answer":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(2 * len(HALF)))])
        return _die_mid_answer(folder / "died")
    if environ["PATH_INFO"] == "/large":
        size = int(parse_qs(environ["QUERY_STRING"])["bytes"][0])
        (folder / "pid").write_text(str(os.getpid()))
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        return _Body(b"y" * size, folder / "sent")
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


def _die_mid_answer(died: Path):
    yield b""  # gunicorn's own Response writes the status line and headers on the first item
    yield HALF
    if not died.exists():
        died.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    yield HALF


class _Body:
    """One item; gunicorn calls close() after it has written the whole answer (PEP 3333)."""

    def __init__(self, data: bytes, sent: Path):
        self.data, self.sent = data, sent

    def __iter__(self):
        yield self.data

    def close(self):
        self.sent.touch()
