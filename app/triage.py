"""The one path from an uploaded scan to a result, shared by the page and the JSON API."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from app.errors import InputError
from app.explain import Explanation, explain
from app.imaging import check_looks_like_ultrasound, decode_upload
from app.pipeline import Prediction

UPLOAD_FIELD = "image"


@dataclass
class Analysis:
    image: Image.Image  # the upload, upright and 8-bit (what the overlay is drawn on)
    prediction: Prediction
    explanation: Explanation


def analyse_upload(files: MultiDict[str, FileStorage], form: MultiDict[str, str]) -> Analysis:
    """Decode and vet the upload, run the models, explain the answer.

    Raises InputError (with the HTTP status to answer) for anything the user can fix.
    The model timings go to `g.model_timings` for the Server-Timing header.
    """
    upload = files.get(UPLOAD_FIELD)
    if upload is None:
        raise InputError(400, "no_file", f"No scan was uploaded. Choose an image file (form field '{UPLOAD_FIELD}').")
    config = current_app.config
    image = decode_upload(upload.read(), config["MAX_IMAGE_PIXELS"], config["MIN_IMAGE_SIDE"])
    check_looks_like_ultrasound(image)
    prediction = current_app.extensions["pipeline"].predict(image)
    g.model_timings = prediction.timings_ms
    return Analysis(image, prediction, explain(prediction.label, prediction.probabilities))
