"""Errors meant for the user, and one place that turns any error into a response.

API clients get `{"error": {"code", "message"}}` JSON; people get a page. Nothing here
echoes request content back or shows a traceback.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.metrics import count_refusal
from inference.input_errors import InputError
from inference.marks import N_

GENERIC_500 = N_("Something went wrong on our side. Please try again in a moment.")
CSRF_MESSAGE = N_("This form has expired or was not sent from this site. "
                  "Reload the page and upload the scan again.")
# Werkzeug's own descriptions are English only; these are the ones a person can meet.
HTTP_MESSAGES = {404: N_("There is no page at this address."),
                 405: N_("This page cannot be used that way."),
                 400: N_("The request could not be understood. Go back to the upload page and try again."),
                 # The proxy's per-client upload limit (Config.RATE_LIMIT), answered by app.limits.
                 429: N_("Too many uploads have come from your connection in a short time. "
                         "Wait a moment, then send the scan again.")}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _size_limit_message() -> str:
    megabytes = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    return gettext("The upload is too large: the limit is %(megabytes)s MB.", megabytes=f"{megabytes:g}")


def register_error_handlers(app: Flask, upload_page: Callable[[str], str]) -> None:
    """`upload_page(message)` renders the upload form with a problem shown on it: a
    person whose upload failed gets the form back, not a dead end."""

    def respond(status: int, code: str, message: str):
        if status < 500:
            count_refusal(code)
        if _wants_json():
            return jsonify(error={"code": code, "message": message}), status
        if request.endpoint in ("views.analyse", "limits.upload_too_large"):
            return upload_page(message), status
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(InputError)
    def input_error(error: InputError):
        return respond(error.status, error.code, error.translated(gettext))

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return respond(400, "csrf_failed", gettext(CSRF_MESSAGE))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        return respond(413, "upload_too_large", _size_limit_message())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        body, status = respond(error.code or 500, code, gettext(HTTP_MESSAGES.get(error.code, GENERIC_500)))
        # Keep Retry-After (a 429's): the client's cue for when to send again.
        return body, status, [header for header in error.get_headers() if header[0] == "Retry-After"]

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # The traceback goes to the server log (never request content); the user gets a plain page.
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return respond(500, "internal_error", gettext(GENERIC_500))
