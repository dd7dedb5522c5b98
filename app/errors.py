"""Errors meant for the user, and one place that turns any error into a response.

API clients get `{"error": {"code", "message"}}` JSON; people get a page. Nothing here
echoes request content back or shows a traceback.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, current_app, jsonify, render_template, request
from babel.numbers import format_decimal
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.i18n import N_, current_language

GENERIC_500 = N_("Something went wrong on our side. Please try again in a moment.")
CSRF_MESSAGE = N_("This form has expired or was not sent from this site. "
                  "Reload the page and upload the scan again.")
# Werkzeug's own descriptions are English only; these are the ones a person can meet.
HTTP_MESSAGES = {404: N_("There is no page at this address."),
                 405: N_("This page cannot be used that way."),
                 400: N_("The request could not be understood. Go back to the upload page and try again.")}


class InputError(Exception):
    """What the user sent cannot be used; `message` is safe to show them.

    `message` is an English message id with %(name)s fields for `params`; it is translated
    into the request's language here (pybabel extracts the third argument of every InputError).
    """

    def __init__(self, status: int, code: str, message: str, **params):
        message = gettext(message, **params)
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def check_size(width: int, height: int, max_pixels: int, min_side: int) -> None:
    """413 over `max_pixels`, 400 under `min_side` on a side: the same for every image format."""
    if width * height > max_pixels:
        raise too_many_pixels(max_pixels)
    if min(width, height) < min_side:
        raise InputError(400, "image_too_small",
                         "The image is %(width)s×%(height)s pixels; it must be at least "
                         "%(side)s×%(side)s pixels.", width=width, height=height, side=min_side)


def too_many_pixels(max_pixels: int) -> InputError:
    return InputError(413, "image_too_large",
                      "The image has too many pixels: the limit is %(megapixels)s megapixels.",
                      megapixels=format_decimal(max_pixels / 1e6, locale=current_language()))


def unreadable_image() -> InputError:
    """A file of an accepted format whose data cannot be decoded, whatever the decoder raised."""
    return InputError(400, "unreadable_image",
                      "The image file is damaged or incomplete. Export the scan again and retry.")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _size_limit_message() -> str:
    megabytes = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    return gettext("The upload is too large: the limit is %(megabytes)s MB.", megabytes=f"{megabytes:g}")


def register_error_handlers(app: Flask, upload_page: Callable[[str], str]) -> None:
    """`upload_page(message)` renders the upload form with a problem shown on it: a
    person whose upload failed gets the form back, not a dead end."""

    def respond(status: int, code: str, message: str):
        if _wants_json():
            return jsonify(error={"code": code, "message": message}), status
        if request.endpoint == "views.analyse":
            return upload_page(message), status
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(InputError)
    def input_error(error: InputError):
        return respond(error.status, error.code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return respond(400, "csrf_failed", gettext(CSRF_MESSAGE))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        return respond(413, "upload_too_large", _size_limit_message())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return respond(error.code or 500, code, gettext(HTTP_MESSAGES.get(error.code, GENERIC_500)))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # The traceback goes to the server log (never request content); the user gets a plain page.
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return respond(500, "internal_error", gettext(GENERIC_500))
