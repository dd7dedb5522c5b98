"""The JSON API contract, and its answers to every kind of bad upload."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from inference.paths import REPO_ROOT
from tests.helpers import SCANS
from tests.helpers.uploads import BAD_UPLOADS, VALID_ODD_UPLOADS


def test_predict_contract(app, post_api, scan_bytes):
    response = post_api(scan_bytes)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {"label", "most_likely", "malignant_flagged", "probabilities", "lesion", "mask_png",
                         "headline", "explanation", "next_steps", "disclaimer", "model", "uncertain"}
    assert body["label"] in ("benign", "malignant", "normal")
    assert set(body["probabilities"]) == {"benign", "malignant", "normal"}
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=2e-4)  # 4 decimals each
    probabilities, threshold = body["probabilities"], app.extensions["pipeline"].settings.malignant_threshold
    most_probable = max(probabilities, key=probabilities.get)
    assert body["label"] == ("malignant" if probabilities["malignant"] >= threshold else most_probable)
    assert body["most_likely"] == most_probable
    assert body["malignant_flagged"] == (probabilities["malignant"] >= threshold)
    assert body["explanation"].startswith(body["headline"]) and f"Most likely {most_probable}" in body["headline"]
    assert body["explanation"] and body["next_steps"] and "not a diagnosis" in body["disclaimer"]
    assert body["model"]["version"]

    with Image.open(io.BytesIO(base64.b64decode(body["mask_png"]))) as mask_image:
        mask = np.asarray(mask_image)
    with Image.open(io.BytesIO(scan_bytes)) as scan:
        assert mask_image.size == scan.size
    assert set(np.unique(mask)) <= {0, 255}
    lesion = body["lesion"]
    assert lesion["area_fraction"] == pytest.approx((mask > 0).mean(), abs=1e-4)
    if mask.any():
        x, y, w, h = lesion["bbox"]
        rows, cols = np.nonzero(mask)
        assert (x, y, x + w - 1, y + h - 1) == (cols.min(), rows.min(), cols.max(), rows.max())
    else:
        assert lesion["bbox"] is None


def test_predict_reports_model_time(post_api, scan_bytes):
    timing = post_api(scan_bytes).headers["Server-Timing"]
    assert "segment;dur=" in timing and "classify;dur=" in timing


def test_real_scan_with_colour_marks_is_analysed(post_api):
    assert post_api(SCANS["benign_colour_marks"].read_bytes()).status_code == 200


@pytest.mark.parametrize("name", VALID_ODD_UPLOADS)
def test_odd_but_valid_images_are_analysed(post_api, name):
    make, upright_size = VALID_ODD_UPLOADS[name]
    response = post_api(make())
    assert response.status_code == 200, response.get_json()
    with Image.open(io.BytesIO(base64.b64decode(response.get_json()["mask_png"]))) as mask:
        assert mask.size == upright_size


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")  # as inference.imaging sets it
@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_uploads_get_a_json_error(post_api, name):
    make, status, code, words = BAD_UPLOADS[name]
    response = post_api(make())
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert words in response.get_json()["error"]["message"]


def test_missing_file_field(post_api):
    response = post_api(None, location="Hamilton")
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "no_file", "message": "No scan was uploaded. Choose an image file (form field 'image')."}


def test_upload_over_size_limit_is_413_with_the_limit(post_api, app):
    response = post_api(b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert response.get_json()["error"] == {"code": "upload_too_large",
                                            "message": "The upload is too large: the limit is 10 MB."}


def test_unknown_api_path_and_wrong_method_are_json(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.get("/api/v1/predict")
    assert wrong.status_code == 405 and wrong.get_json()["error"]["code"] == "method_not_allowed"


def test_healthz(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["model"]["version"] == app.extensions["pipeline"].version


def test_unexpected_failure_is_a_plain_json_500(broken_pipeline, post_api, scan_bytes):
    response = post_api(scan_bytes)
    assert response.status_code == 500
    message = "Something went wrong on our side. Please try again in a moment."
    assert response.get_json() == {"error": {"code": "internal_error", "message": message}}


def test_openapi_document_matches_the_response(post_api, scan_bytes):
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load((REPO_ROOT / "docs" / "openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    body = post_api(scan_bytes, location="Hamilton, ON").get_json()
    assert set(schemas["Prediction"]["required"]) <= set(body)
    assert set(body) <= set(schemas["Prediction"]["properties"])
    assert set(body["centres"][0]) <= set(schemas["Centre"]["properties"])
    documented_codes = set(schemas["Error"]["properties"]["error"]["properties"]["code"]["examples"])
    assert {code for _, _, code, _ in BAD_UPLOADS.values()} <= documented_codes
