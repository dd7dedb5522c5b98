"""Breast-ultrasound triage web app: `create_app()` builds a ready-to-serve Flask app."""
from __future__ import annotations

import secrets
from io import BytesIO
from pathlib import Path
from typing import IO, Any, Mapping

from flask import Flask, Request, g
from flask_wtf.csrf import CSRFProtect

from app import api, security, views
from app.centres import load_centres
from app.config import Config
from app.errors import register_error_handlers
from app.geocode import Geocoder, load_gazetteer
from app.pipeline import Pipeline

REPO_ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


class InMemoryUploadRequest(Request):
    """Keeps every uploaded file in memory (Werkzeug spools uploads over 500 KB to a
    temporary file). MAX_CONTENT_LENGTH bounds the memory a request can take."""

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        return BytesIO()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults from `Config`, then BUSI_* environment variables, then `config`.

    Loads both models, the centre list and the gazetteer once, here, so every request
    in this process shares them and none pays for loading.
    """
    app = Flask(__name__, template_folder=str(REPO_ROOT / "templates"),
                static_folder=str(REPO_ROOT / "static"))
    app.request_class = InMemoryUploadRequest
    app.config.from_object(Config)
    app.config.from_prefixed_env("BUSI")
    app.config.update(config or {})
    # str(): a key of digits only would arrive from the environment parsed as a number.
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"] or secrets.token_hex(32))

    app.extensions["pipeline"] = Pipeline.load(app.config["MODELS_DIR"], num_threads=int(app.config["MODEL_THREADS"]))
    app.extensions["geocoder"] = Geocoder(app.config)
    load_centres()
    load_gazetteer()

    csrf.init_app(app)
    # The JSON API is stateless: no cookie or session authenticates a request, so a
    # cross-site form cannot ride on a user's credentials and there is nothing for a
    # CSRF token to protect. The HTML form, which uses the session cookie, keeps it.
    csrf.exempt(api.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    register_error_handlers(app, views.render_upload_page)
    security.install(app)
    app.after_request(_add_server_timing)
    return app


def _add_server_timing(response):
    """Model time per stage (Server-Timing), so clients and the benchmark can see where
    request time goes."""
    timings = g.get("model_timings")
    if timings:
        response.headers["Server-Timing"] = ", ".join(f"{name};dur={ms:.1f}" for name, ms in timings.items())
    return response
