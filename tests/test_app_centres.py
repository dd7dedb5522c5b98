"""Nearest cancer centres on the result page and in the API (offline geocoder)."""
from __future__ import annotations

import pytest

JURAVINSKI = "Juravinski Cancer Centre"


def test_api_lists_centres_near_a_typed_place(post_api, scan_bytes):
    body = post_api(scan_bytes, location="Hamilton, ON").get_json()
    assert body["location"]["resolved"] == "Hamilton, ON, Canada"
    assert JURAVINSKI in body["centres"][0]["name"]
    assert len(body["centres"]) == 3
    assert [c["distance_km"] for c in body["centres"]] == sorted(c["distance_km"] for c in body["centres"])
    assert body["attribution"]


def test_api_lists_centres_near_browser_coordinates(post_api, scan_bytes):
    body = post_api(scan_bytes, latitude="43.25", longitude="-79.85", limit="5").get_json()
    assert body["location"]["source"] == "browser"
    assert JURAVINSKI in body["centres"][0]["name"] and len(body["centres"]) == 5


def test_api_without_location_has_no_centres(post_api, scan_bytes):
    body = post_api(scan_bytes, location="  ").get_json()
    assert "centres" not in body and "location" not in body


@pytest.mark.parametrize("fields, status, code", [
    ({"location": "Xyzzyplace Nowhere"}, 422, "location_not_found"),
    ({"latitude": "43.2"}, 400, "invalid_location"),
    ({"latitude": "91", "longitude": "0"}, 400, "invalid_location"),
    ({"location": "Hamilton, ON", "limit": "50"}, 400, "invalid_location"),
])
def test_api_bad_location_is_a_json_error(post_api, scan_bytes, fields, status, code):
    response = post_api(scan_bytes, **fields)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_result_page_lists_centres(submit_form, scan_bytes):
    page = submit_form(scan_bytes, location="Hamilton, ON").get_data(as_text=True)
    assert 'id="centres"' in page and JURAVINSKI in page
    assert "openstreetmap.org" in page


def test_result_page_keeps_the_result_when_the_place_is_unknown(submit_form, scan_bytes):
    response = submit_form(scan_bytes, location="Xyzzyplace Nowhere")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="most-likely"' in page
    assert "We could not find that place" in page


def test_typed_location_is_escaped_when_shown(submit_form, scan_bytes):
    page = submit_form(scan_bytes, location="<script>alert(1)</script>, Hamilton, ON").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown back (approximate match)...
    assert "<script>alert(1)" not in page  # ...as text, never as markup


def test_typed_location_is_kept_and_escaped_when_the_upload_fails(submit_form):
    page = submit_form(b"", location='"><script>alert(1)</script>').get_data(as_text=True)
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert "<script>alert(1)" not in page
