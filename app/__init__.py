"""Breast-ultrasound triage web app: `create_app()` builds a ready-to-serve Flask app.

The Flask-free parts it serves (upload decoding and vetting, the models) live in `inference`,
which the batch CLI and training use without this package.
"""
from __future__ import annotations

import secrets
from typing import Any, Mapping

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from app import api, i18n, limits, metrics, security, views
from app.config import Config
from app.errors import register_error_handlers
from app.http import InMemoryUploadRequest, add_server_timing
from app.location.centres import load_centres
from app.location.gazetteer import load_gazetteer
from app.location.online import Geocoder
from inference.input_check import InputCheck
from inference.paths import REPO_ROOT
from inference.pipeline import Pipeline
from inference.public_summary import load_public_summary


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults from `Config`, then BUSI_* environment variables, then `config`.

    Loads both models, the input check, the centre list and the gazetteer once, here, so every request
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

    threads = app.config["MODEL_THREADS"]
    pipeline = Pipeline.load(app.config["MODELS_DIR"], threads=None if threads is None else int(threads))
    app.extensions["pipeline"] = pipeline
    app.extensions["input_check"] = InputCheck.load(app.config["MODELS_DIR"], threads=pipeline.settings.threads)
    # The measured rates the texts state; a card without them is refused here, at start-up.
    app.extensions["public_summary"] = load_public_summary(app.config["MODELS_DIR"])
    app.extensions["geocoder"] = Geocoder(app.config)
    load_centres()
    load_gazetteer()

    i18n.install(app)
    csrf = CSRFProtect(app)
    # The JSON API is stateless: no cookie or session authenticates a request, so a
    # cross-site form cannot ride on a user's credentials and there is nothing for a
    # CSRF token to protect. The HTML form, which uses the session cookie, keeps it.
    csrf.exempt(api.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(limits.bp)
    register_error_handlers(app, views.render_upload_page)
    security.install(app)
    app.after_request(add_server_timing)
    metrics.install(app)
    return app
