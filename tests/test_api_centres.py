"""GET /api/v1/centres: the nearest-centre search on its own."""
import pytest


def get(client, **params):
    return client.get("/api/v1/centres", query_string=params)


def test_typed_location_lists_the_nearest_centres(client):
    response = get(client, location="Hamilton, ON")
    assert response.status_code == 200
    body = response.get_json()
    assert body["location"]["resolved"].startswith("Hamilton, ON")
    assert body["location"]["source"].startswith("offline")
    assert "Juravinski" in body["centres"][0]["name"]
    assert len(body["centres"]) == 3
    distances = [c["distance_km"] for c in body["centres"]]
    assert distances == sorted(distances) and distances[0] < 5


def test_coordinates_and_limit(client):
    body = get(client, latitude="34.09", longitude="-118.41", limit="5").get_json()
    assert body["location"]["source"] == "browser"
    assert len(body["centres"]) == 5
    assert "Jonsson" in body["centres"][0]["name"]


@pytest.mark.parametrize("params, words", [
    ({"latitude": "91", "longitude": "0"}, "Latitude"),
    ({"latitude": "north", "longitude": "10"}, "Latitude"),
    ({"latitude": "45", "longitude": "-200"}, "Longitude"),
    ({"latitude": "45"}, ""),
    ({}, ""),
    ({"location": "Hamilton", "limit": "0"}, ""),
])
def test_bad_coordinates_and_limits_are_400_with_a_message(client, params, words):
    response = get(client, **params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_location"
    assert words in error["message"] and len(error["message"]) > 10


def test_unknown_place_is_422_with_a_clear_message(client):
    response = get(client, location="Xyzzyville")
    assert response.status_code == 422
    assert "could not find that place" in response.get_json()["error"]["message"]
