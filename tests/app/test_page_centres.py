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
    ({"limit": "abc"}, 400, "invalid_location"),  # a bad limit without a location is not ignored
    ({"limit": "1e23"}, 400, "invalid_location"),
    ({"limit": ""}, 400, "invalid_location"),
])
def test_api_bad_location_is_a_json_error(post_api, scan_bytes, fields, status, code):
    response = post_api(scan_bytes, **fields)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_api_good_limit_without_a_location_is_fine(post_api, scan_bytes):
    response = post_api(scan_bytes, limit="4")
    assert response.status_code == 200 and "centres" not in response.get_json()


def test_api_place_in_another_country_is_a_422_with_the_coverage(post_api, scan_bytes):
    response = post_api(scan_bytes, location="Paris, France")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "outside_coverage" and error["coverage"]["countries"] == ["CA", "US"]


def test_api_answer_says_when_the_nearest_centre_is_far(post_api, scan_bytes):
    body = post_api(scan_bytes, location="Inuvik").get_json()
    assert body["far_from_centres"] is True and body["nearest_distance_km"] > 250
    assert "km away" in body["notices"][0]


def test_result_page_lists_centres(submit_form, scan_bytes):
    page = submit_form(scan_bytes, location="Hamilton, ON").get_data(as_text=True)
    assert 'id="centres"' in page and JURAVINSKI in page
    assert "openstreetmap.org" in page


def test_result_page_keeps_the_result_when_the_place_is_unknown(submit_form, scan_bytes):
    response = submit_form(scan_bytes, location="Xyzzyplace Nowhere")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="headline"' in page
    assert "We could not find that place" in page
    assert "Your family doctor" in page


def test_result_page_says_when_a_place_is_outside_coverage(submit_form, scan_bytes):
    response = submit_form(scan_bytes, location="Paris, France")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="headline"' in page
    assert "France is outside this search" in page


def test_result_page_warns_when_the_nearest_centre_is_far(submit_form, scan_bytes):
    page = submit_form(scan_bytes, location="Inuvik").get_data(as_text=True)
    assert 'id="centre-notices"' in page
    assert "The nearest cancer centre on our list is" in page and "km away." in page


def test_result_page_says_the_typed_place_was_used(submit_form, scan_bytes):
    page = submit_form(scan_bytes, location="90210", latitude="43.26", longitude="-79.87").get_data(as_text=True)
    assert "Jonsson" in page and "we used the place you typed" in page


def test_pages_state_the_coverage(client, submit_form, scan_bytes):
    from app.location.messages import COVERAGE

    assert COVERAGE in client.get("/").get_data(as_text=True)
    assert COVERAGE in submit_form(scan_bytes, location="Hamilton, ON").get_data(as_text=True)


def test_typed_location_is_escaped_when_shown(submit_form, scan_bytes):
    page = submit_form(scan_bytes, location="<script>alert(1)</script>, Hamilton, ON").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown back (approximate match)...
    assert "<script>alert(1)" not in page  # ...as text, never as markup


def test_typed_location_is_kept_and_escaped_when_the_upload_fails(submit_form):
    page = submit_form(b"", location='"><script>alert(1)</script>').get_data(as_text=True)
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert "<script>alert(1)" not in page
