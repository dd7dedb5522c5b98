"""GET /api/v1/centres: the nearest-centre search on its own."""
import pytest

from app.location import messages
from app.location.centres import FAR_FROM_CENTRES_KM, load_centres
from tests.helpers.geo import haversine_km


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
    error = response.get_json()["error"]
    assert error["code"] == "location_not_found"
    assert "could not find that place" in error["message"]
    assert "Canada or the United States" in error["message"] and "family doctor" in error["message"]
    assert error["coverage"]["countries"] == ["CA", "US"]


COVERAGE = {"countries": ["CA", "US"], "names": ["Canada", "USA"], "message": messages.COVERAGE}


@pytest.mark.parametrize("typed, region, city", [
    ("Toronto Canada", "ON", "Toronto"),
    ("NYC", "NY", "New York"),
    ("Quebec City", "QC", "Québec"),
    ("Hamilton, ON L8V 1C3", "ON", "Hamilton"),
    ("Montréal", "QC", "Montréal"),
    ("St. John's NL", "NL", "St. John's"),
])
def test_what_people_type_finds_centres_in_their_city(client, typed, region, city):
    response = get(client, location=typed)
    assert response.status_code == 200
    body = response.get_json()
    assert body["location"]["resolved"].startswith(city)
    assert body["location"]["approximate"] is False
    nearest = body["centres"][0]
    assert (nearest["region"], nearest["city"]) == (region, city) or nearest["distance_km"] < 15
    assert body["coverage"] == COVERAGE
    assert body["far_from_centres"] is False


def test_a_place_in_another_country_answers_with_the_coverage(client):
    response = get(client, location="Paris, France")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "outside_coverage"
    assert error["coverage"] == COVERAGE
    assert "France" in error["message"] and "Canada and the United States" in error["message"]
    assert "family doctor" in error["message"]


def test_a_place_850_km_from_any_centre_gets_the_distance_warning(client):
    body = get(client, location="Inuvik").get_json()
    point = body["location"]["latitude"], body["location"]["longitude"]
    nearest_km = min(haversine_km(*point, c.latitude, c.longitude) for c in load_centres())
    assert nearest_km > 800
    assert body["far_from_centres"] is True
    assert body["nearest_distance_km"] == pytest.approx(nearest_km, rel=0.01)
    assert body["nearest_distance_km"] > FAR_FROM_CENTRES_KM
    assert body["notices"] == [messages.FAR_FROM_CENTRES % {"distance": f"{body['nearest_distance_km']:,.0f}"},
                               messages.BOTH_COUNTRIES]  # Inuvik's third centre is in Alaska


def test_a_typed_place_wins_over_coordinates(client):
    body = get(client, location="90210", latitude="43.26", longitude="-79.87").get_json()  # browser: Hamilton
    assert body["location"]["source"] == "offline-zip"
    assert "Jonsson" in body["centres"][0]["name"]
    assert body["notices"] == [messages.TYPED_PLACE_USED]



def test_openapi_document_matches_the_centres_answers(client):
    yaml = pytest.importorskip("yaml")
    from inference.paths import REPO_ROOT

    schemas = yaml.safe_load((REPO_ROOT / "docs" / "openapi.yaml").read_text())["components"]["schemas"]
    body = get(client, location="Inuvik").get_json()
    assert set(body) == set(schemas["Nearby"]["required"]) == set(schemas["Nearby"]["properties"])
    assert set(body) - {"centres"} <= set(schemas["Prediction"]["properties"])
    assert set(body["coverage"]) == set(schemas["Coverage"]["required"])
    error = get(client, location="Paris, France").get_json()["error"]
    assert set(error) <= set(schemas["Error"]["properties"]["error"]["properties"])
    assert error["code"] in schemas["Error"]["properties"]["error"]["properties"]["code"]["examples"]


def test_location_answers_follow_accept_language(client):
    """The centre search's sentences are translated like every other message (French here)."""
    english = client.get("/api/v1/centres", query_string={"location": "Paris, France"}).get_json()["error"]
    french = client.get("/api/v1/centres", query_string={"location": "Paris, France"},
                        headers={"Accept-Language": "fr-CA,fr;q=0.9"}).get_json()["error"]
    assert english["message"].startswith("France is outside this search")
    assert french["message"].startswith("Cette recherche ne couvre pas ce pays (France)")
    assert "seulement le Canada et les États-Unis" in french["coverage"]["message"]
    far = client.get("/api/v1/centres", query_string={"location": "Inuvik"},
                     headers={"Accept-Language": "fr"}).get_json()
    assert any(notice.startswith("Le centre de cancérologie le plus proche") for notice in far["notices"])
