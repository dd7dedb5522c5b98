"""The app's answer to an upload the proxy refused: for its client's rate (Config.RATE_LIMIT), or
for its size (MAX_CONTENT_LENGTH, nginx's client_max_body_size).

nginx (deploy/nginx.conf.template) answers a refused upload with an internal GET here, without
the body, so the client gets the app's own 429 or 413: JSON under /api/, else the page in its
language.
"""
from __future__ import annotations

import math

from flask import Blueprint, current_app
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

bp = Blueprint("limits", __name__)


@bp.get("/too-many-uploads")
@bp.get("/api/v1/too-many-uploads")
def too_many_uploads():
    """Retry-After: the seconds the proxy takes to allow one more upload."""
    rate = current_app.config["RATE_LIMIT"]
    raise TooManyRequests(retry_after=math.ceil(60 / rate) if rate > 0 else 60)


@bp.get("/upload-too-large")
@bp.get("/api/v1/upload-too-large")
def upload_too_large():
    """The same 413 as an upload the app itself refuses for its size (the upload form again, with the limit)."""
    raise RequestEntityTooLarge()
