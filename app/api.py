"""JSON API: `POST /api/v1/predict` and `GET /healthz` (documented in docs/openapi.yaml)."""
from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from app.explain import disclaimer
from app.location.centres import locate_and_find
from app.location.coverage import coverage
from app.location.places import LocationError, LocationNotFound, OutsideCoverage
from app.triage import LOCATION_FIELDS, analyse_upload
from inference.imaging import lesion_summary, mask_png
from inference.paths import REPO_ROOT

bp = Blueprint("api", __name__)
OPENAPI_FILE = REPO_ROOT / "docs" / "openapi.yaml"
PROBABILITY_DECIMALS = 4  # more digits than the calibration can vouch for would only mislead


@bp.post("/api/v1/predict")
def predict():
    analysis = analyse_upload(request.files, request.form)
    if analysis.location_error:
        # A program can resend at once, so a bad location is an error here (the page,
        # where the file would have to be chosen again, shows the result instead).
        return _location_error_response(analysis.location_error)
    prediction, explanation = analysis.prediction, analysis.explanation
    return jsonify(
        label=prediction.label,
        most_likely=prediction.decision.most_probable,
        malignant_flagged=prediction.decision.malignant_flagged,
        probabilities={name: round(p, PROBABILITY_DECIMALS) for name, p in prediction.probabilities.items()},
        uncertain=explanation.uncertain,
        caveats=list(prediction.caveats),
        input_check=analysis.input_check.as_json(),
        lesion=lesion_summary(prediction.mask),
        mask_png=base64.b64encode(mask_png(prediction.mask)).decode("ascii"),
        headline=explanation.headline,
        explanation=explanation.text,
        next_steps=list(explanation.next_steps),
        disclaimer=disclaimer(),
        model={"version": current_app.extensions["pipeline"].version},
        **(analysis.nearby or {}),
    )


@bp.get("/api/v1/openapi.yaml")
def openapi():
    """The API's description, served so that clients and code generators can fetch it."""
    return send_file(OPENAPI_FILE, mimetype="application/yaml")


@bp.get("/api/v1/centres")
def centres():
    """Nearest centres to `location` (typed text) or `latitude` + `longitude`, `limit` 1-10."""
    try:
        found = locate_and_find(*(request.args.get(name) for name in LOCATION_FIELDS),
                                limit=request.args.get("limit", current_app.config["CENTRES_LIMIT"]),
                                geocoder=current_app.extensions["geocoder"])
    except LocationError as error:
        return _location_error_response(error)
    return jsonify(found)


def _location_error_response(error: LocationError) -> tuple[Response, int]:
    """The usual error body plus `coverage`, so a client can say where the search works.
    A place in another country or an unknown one: 422 (the request was well formed);
    anything else: 400."""
    if isinstance(error, OutsideCoverage):
        status, code = 422, "outside_coverage"
    elif isinstance(error, LocationNotFound):
        status, code = 422, "location_not_found"
    else:
        status, code = 400, "invalid_location"
    return jsonify(error={"code": code, "message": str(error), "coverage": coverage()}), status


@bp.get("/healthz")
def healthz():
    """Ready once the app exists: the models load in create_app, before the first request."""
    return jsonify(status="ok", model=current_app.extensions["pipeline"].info())
