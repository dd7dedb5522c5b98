"""The one path from an uploaded scan to a result, shared by the page and the JSON API."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from app.explain import Explanation, explain
from app.location.centres import locate_and_find, parse_limit
from app.location.places import LocationError
from inference.imaging import decode_upload
from inference.input_check import InputVerdict
from inference.input_errors import InputError, require_ultrasound
from inference.pipeline import Prediction

UPLOAD_FIELD = "image"
LOCATION_FIELDS = ("location", "latitude", "longitude")


@dataclass
class Analysis:
    image: Image.Image  # the upload, upright and 8-bit (what the overlay is drawn on)
    prediction: Prediction
    explanation: Explanation
    input_check: InputVerdict  # accepted or unfamiliar (refused uploads never get this far)
    nearby: dict | None = None  # locate_and_find()'s answer when a location was given
    location_error: LocationError | None = None  # or why the location could not be used


def analyse_upload(files: MultiDict[str, FileStorage], form: MultiDict[str, str]) -> Analysis:
    """Decode and vet the upload, run the models, explain the answer, find centres.

    Raises InputError (with the HTTP status to answer) for anything the user can fix in
    the image. A location that cannot be used does not cost the result: it comes back as
    `location_error`, and each front door decides what to do with it. The model timings
    go to `g.model_timings` for the Server-Timing header.
    """
    upload = files.get(UPLOAD_FIELD)
    if upload is None:
        raise InputError(400, "no_file", "No scan was uploaded. Choose an image file (form field '%(field)s').",
                         field=UPLOAD_FIELD)
    config = current_app.config
    image = decode_upload(upload.read(), config["MAX_IMAGE_PIXELS"], config["MIN_IMAGE_SIDE"])
    verdict = check_input_image(image)
    pipeline = current_app.extensions["pipeline"]
    prediction = pipeline.predict(image)
    g.model_timings = prediction.timings_ms
    nearby, location_error = _nearby_centres(form)
    explanation = explain(prediction, current_app.extensions["public_summary"], pipeline.settings,
                          unfamiliar=verdict.unfamiliar)
    return Analysis(image, prediction, explanation, verdict, nearby, location_error)


def check_input_image(image: Image.Image) -> InputVerdict:
    """The learned input check's verdict; a 422 `not_ultrasound` InputError when it refuses."""
    return require_ultrasound(current_app.extensions["input_check"], image)


def _nearby_centres(form: MultiDict[str, str]) -> tuple[dict | None, LocationError | None]:
    """Nearest centres when any location field is filled in; (None, None) when none is (a `limit`
    sent alone is still checked: a bad one is an error, never silently ignored)."""
    if not any(form.get(name, "").strip() for name in LOCATION_FIELDS):
        try:
            if "limit" in form:
                parse_limit(form["limit"])
        except LocationError as error:
            return None, error
        return None, None
    try:
        return locate_and_find(*(form.get(name) for name in LOCATION_FIELDS),
                               limit=form.get("limit", current_app.config["CENTRES_LIMIT"]),
                               geocoder=current_app.extensions["geocoder"]), None
    except LocationError as error:
        return None, error
