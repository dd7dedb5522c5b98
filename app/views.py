"""The pages people use: the upload form and the result."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.explain import CLASS_TITLES, DISCLAIMER_DETAIL, percent
from app.imaging import ACCEPTED_FORMATS_TEXT, overlay_png, png_data_uri
from inference.settings import CLASS_NAMES
from app.triage import UPLOAD_FIELD, analyse_upload

bp = Blueprint("views", __name__)


def render_upload_page(error: str | None = None) -> str:
    """The upload form, with `error` shown above it when the last upload failed (and the
    location the user typed filled in again)."""
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    return render_template("index.html", error=error, accepted=ACCEPTED_FORMATS_TEXT,
                           max_bytes=max_bytes, max_mb=f"{max_bytes / (1024 * 1024):g}",
                           upload_field=UPLOAD_FIELD, location=_typed_location())


def _typed_location() -> str:
    try:
        return request.form.get("location", "")
    except RequestEntityTooLarge:  # the body was refused unread: there is nothing to refill
        return ""


@bp.get("/")
def index():
    return render_upload_page()


@bp.post("/analyse")
def analyse():
    analysis = analyse_upload(request.files, request.form)
    prediction = analysis.prediction
    return render_template(
        "result.html",
        label=prediction.label,
        most_likely=prediction.decision.most_probable,
        probabilities=[(name, prediction.probabilities[name], percent(prediction.probabilities[name]))
                       for name in CLASS_NAMES],
        overlay=png_data_uri(overlay_png(analysis.image, prediction.mask)),
        lesion_found=bool(prediction.mask.any()),
        explanation=analysis.explanation,
        disclaimer_detail=DISCLAIMER_DETAIL,
        titles=CLASS_TITLES,
        nearby=analysis.nearby,
        location_error=analysis.location_error,
    )
