"""Security and privacy: headers, CSRF, escaping, uploads kept in memory, nothing personal logged."""
from __future__ import annotations

import io
import logging
from io import BytesIO

import pytest

from tests.helpers import csrf_token


@pytest.mark.parametrize("path", ["/", "/healthz", "/static/style.css", "/no-such-page"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "img-src 'self' data:" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "geolocation=(self)" in headers["Permissions-Policy"]


def test_results_are_not_cached(post_api, submit_form, scan_bytes):
    assert post_api(scan_bytes).headers["Cache-Control"] == "no-store"
    assert submit_form(scan_bytes).headers["Cache-Control"] == "no-store"


def test_security_headers_on_errors(post_api):
    response = post_api(b"not an image")
    assert response.status_code == 415
    assert "Content-Security-Policy" in response.headers


def test_form_post_without_csrf_token_is_refused(client, scan_bytes):
    response = client.post("/analyse", data={"image": (BytesIO(scan_bytes), "scan.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "This form has expired or was not sent from this site" in response.get_data(as_text=True)


def test_form_post_with_a_forged_token_is_refused(client, scan_bytes):
    csrf_token(client)  # a session exists, but the token sent is not its token
    response = client.post("/analyse", data={"csrf_token": "forged", "image": (BytesIO(scan_bytes), "scan.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 400


def test_api_needs_no_csrf_token(post_api, scan_bytes):
    assert post_api(scan_bytes).status_code == 200


def test_no_filename_or_location_in_logs(submit_form, post_api, scan_bytes, caplog):
    filename, location = "jane-doe-left-breast.png", "Hamilton, ON"
    with caplog.at_level(logging.DEBUG):
        assert submit_form(scan_bytes, filename=filename, location=location).status_code == 200
        post_api(scan_bytes, filename=filename, location=location, latitude="43.25", longitude="-79.87")
        post_api(b"broken", filename=filename, location=location)
    logged = caplog.text
    for secret in (filename, "jane-doe", location, "Hamilton", "43.25", "-79.87"):
        assert secret not in logged


def test_large_uploads_stay_in_memory(app):
    """Werkzeug would spool an upload over 500 KB to a temporary file; ours stays a BytesIO."""
    big = b"\0" * (2 * 1024 * 1024)
    with app.test_request_context("/api/v1/predict", method="POST", content_type="multipart/form-data",
                                  data={"image": (io.BytesIO(big), "scan.png")}):
        from flask import request

        assert isinstance(request.files["image"].stream, BytesIO)

