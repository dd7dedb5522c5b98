"""The pages people use: the upload form and the result."""
from __future__ import annotations

import base64
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from app.explain import DISCLAIMER_DETAIL, class_titles, disclaimer, model_scope, percent
from app.report import ReportContent, build_report
from app.triage import UPLOAD_FIELD, analyse_upload
from inference.imaging import ACCEPTED_FORMATS_TEXT, overlay_png, png_data_uri, scan_and_outline_pngs
from inference.marks import N_
from inference.settings import CLASS_NAMES

bp = Blueprint("views", __name__)

REPORT_FILE_NAME = N_("breast-ultrasound-report")  # the PDF's file name, before its date
RESULT_NOT_KEPT = N_("Results are not kept: nothing of your scan stays on our server after the result "
                     "is shown. To see a result again, open the report you downloaded or upload the scan "
                     "again.")


def render_upload_page(error: str | None = None, notice: str | None = None) -> str:
    """The upload form, with `error` shown above it when the last upload failed (and the
    location the user typed filled in again), or a `notice`."""
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    return render_template("index.html", error=error, notice=notice, accepted=gettext(ACCEPTED_FORMATS_TEXT),
                           max_bytes=max_bytes, max_mb=f"{max_bytes / (1024 * 1024):g}",
                           upload_field=UPLOAD_FIELD, location=_typed_location(),
                           model_scope=model_scope(current_app.extensions["public_summary"]))


def _typed_location() -> str:
    try:
        return request.form.get("location", "")
    except RequestEntityTooLarge:  # the body was refused unread: there is nothing to refill
        return ""


@bp.get("/")
def index():
    return render_upload_page()


@bp.get("/analyse")
def analyse_again():
    """Where Back or Reload lands after a result (result.js replaces the POST's history entry
    with this address): results are kept nowhere, so say so on the upload form."""
    return render_upload_page(notice=gettext(RESULT_NOT_KEPT))


@bp.post("/analyse")
def analyse():
    analysis = analyse_upload(request.files, request.form)
    prediction = analysis.prediction
    titles = class_titles()
    probabilities = [(name, prediction.probabilities[name], percent(prediction.probabilities[name]))
                     for name in CLASS_NAMES]
    scan_png, outline_png = scan_and_outline_pngs(analysis.image, prediction.mask)
    created = datetime.now(_browser_timezone(request.form.get("timezone")))
    report = build_report(ReportContent(
        created=created, model_version=current_app.extensions["pipeline"].version,
        explanation=analysis.explanation, probabilities=[(titles[name], shown) for name, _, shown in probabilities],
        most_likely_title=titles[prediction.decision.most_probable], disclaimer=disclaimer(),
        scan_png=overlay_png(analysis.image, prediction.mask),
        nearby=analysis.nearby))
    return render_template(
        "result.html",
        label=prediction.label,
        most_likely=prediction.decision.most_probable,
        probabilities=probabilities,
        scan=png_data_uri(scan_png),
        outline=png_data_uri(outline_png),
        lesion_found=bool(prediction.mask.any()),
        explanation=analysis.explanation,
        disclaimer_detail=gettext(DISCLAIMER_DETAIL),
        titles=titles,
        nearby=analysis.nearby,
        location_error=analysis.location_error,
        report_uri="data:application/pdf;base64," + base64.b64encode(report).decode("ascii"),
        report_name=f"{gettext(REPORT_FILE_NAME)}-{created:%Y-%m-%d-%H%M}.pdf",
    )


def _browser_timezone(name: str | None) -> tzinfo:
    """The browser's time zone (sent by upload.js) for the report's time, else UTC."""
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ValueError, ZoneInfoNotFoundError):
        return timezone.utc
