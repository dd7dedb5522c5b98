"""Centre data, nearest-centre ranking and locate_and_find(). No network: the
autouse fixture makes every socket connection fail."""
import csv
import re

import pytest
from geopy.distance import geodesic
from geopy.location import Location

from app.location import messages, online
from app.location.centres import DATA_FILE, FAR_FROM_CENTRES_KM, load_centres, locate_and_find, nearest, tel_uri
from app.location.messages import say
from app.location.online import Geocoder
from app.location.places import LocationError, LocationNotFound
from inference.paths import SHARED_DATA
from tests.helpers.geo import haversine_km

# --- the data file ------------------------------------------------------------------

def test_centre_list_has_the_documented_rows_and_no_duplicates():
    rows = load_centres()
    assert len(rows) == 143
    assert sum(c.country == "CA" for c in rows) == 58
    assert sum(c.country == "US" for c in rows) == 85
    assert len({c.name for c in rows}) == 143
    assert len({(c.latitude, c.longitude) for c in rows}) == 143


US_STATES = {"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
             "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH",
             "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"}
PROVINCES = {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}


def test_every_state_province_and_territory_has_a_centre():
    rows = load_centres()
    assert {c.region for c in rows if c.country == "US"} == US_STATES
    assert {c.region for c in rows if c.country == "CA"} == PROVINCES


def test_no_centre_is_for_children_only():
    """An adult breast check is never sent to a paediatric hospital (St. Jude was the first answer in Jackson, MS)."""
    for c in load_centres():
        assert not re.search(r"child|pediatric|paediatric|kids", c.name, re.I) or c.name.startswith("Arthur J.E. Child")
    assert locate_and_find("Jackson, MS")["centres"][0]["name"].startswith("University of Mississippi Medical Center")


def test_every_centre_can_be_called_and_says_whose_number_it_is():
    """Each row has a number and the source it comes from; a number that is not the centre's own
    (its host hospital's, the provincial cancer agency's, the provincial health line) is labelled."""
    with open(DATA_FILE, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(row["phone"] for row in rows), [row["name"] for row in rows if not row["phone"]]
    for row in rows:
        assert "phone" in row["source"].lower() or "HIFLD" in row["source"], row["name"]
        assert row["phone_from"] in ("", *messages.PHONE_FROM), row["name"]
        if row["phone_from"] in ("agency", "health_line"):
            stands_in = r"in place of the centre's own number|not the centre's own|811"
            assert re.search(stands_in, row["source"]), row["name"]
    found = {c["name"]: c for c in locate_and_find("Saskatoon", limit=10)["centres"]}
    saskatoon = next(c for name, c in found.items() if "Saskatoon Cancer Centre" in name)
    assert saskatoon["phone"] == "811" and saskatoon["tel"] == "tel:811"
    assert saskatoon["phone_note"] == say(messages.PHONE_FROM["health_line"])


@pytest.mark.parametrize("phone, uri", [("(905) 521-2100", "tel:+19055212100"), ("811", "tel:811"),
                                        ("(705) 728-9090 ext. 43333", "tel:+17057289090;ext=43333")])
def test_tel_links(phone, uri):
    assert tel_uri(phone) == uri


@pytest.mark.parametrize("place, other_country, country_name", [
    ("Anchorage, AK", "Whitehorse General Hospital", "Canada"), ("Billings, MT", "Margery E. Yuill", "Canada"),
    ("Detroit, MI", "Windsor Regional Hospital", "Canada"), ("Whitehorse", "Providence Alaska", "United States")])
def test_a_centre_across_the_border_is_said_to_be_in_the_other_country(place, other_country, country_name):
    found = locate_and_find(place, limit=3)
    across = next(c for c in found["centres"] if c["name"].startswith(other_country))
    assert across["country_name"] == country_name
    assert say(messages.BOTH_COUNTRIES) in found["notices"]
    home = locate_and_find("Hamilton, ON", limit=3)
    assert all(c["country_name"] is None for c in home["centres"])
    assert say(messages.BOTH_COUNTRIES) not in home["notices"]


BOUNDS = {"CA": (41.6, 83.2, -141.1, -52.5), "US": (18.9, 71.5, -179.2, -66.9)}


def test_centre_fields_are_well_formed():
    for c in load_centres():
        south, north, west, east = BOUNDS[c.country]
        assert south <= c.latitude <= north and west <= c.longitude <= east, c.name
        pattern = r"[A-Z]\d[A-Z] \d[A-Z]\d" if c.country == "CA" else r"\d{5}"
        assert re.fullmatch(pattern, c.postal_code), c.name
        assert c.phone == "811" or re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}( ext\. \d+)?", c.phone), c.name
        assert c.website == "" or re.fullmatch(r"https?://\S+", c.website) and "utm_" not in c.website, c.name
        assert c.name == c.name.strip() and "  " not in c.name


def test_documented_data_fixes_are_in_place():
    by_city = {c.city: c for c in load_centres()}
    assert by_city["St. John's"].address == "300 Prince Philip Drive"
    assert by_city["Longueuil (Greenfield Park)"].name.startswith("Hôpital Charles-Le Moyne")


# --- nearest ------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected, max_km", [
    ("Hamilton", "Juravinski Cancer Centre", 3),
    ("Hamilton, ON", "Juravinski Cancer Centre", 3),
    ("L8V 1C3", "Juravinski Cancer Centre", 3),
    ("90210", "Jonsson Comprehensive Cancer Center (UCLA)", 6),
    ("Iqaluit", "Qikiqtani General Hospital", 2),
    ("X0A 0H0", "Qikiqtani General Hospital", 2),
    ("Sault Ste. Marie", "Sault Area Hospital", 6),
    ("Sault Sainte Marie", "Sault Area Hospital", 6),
    ("Trois-Rivières", "Centre hospitalier affilié universitaire régional de Trois-Rivières", 3),
    ("Trois-Rivieres", "Centre hospitalier affilié universitaire régional de Trois-Rivières", 3),
])
def test_nearest_centre_for_typed_locations(query, expected, max_km):
    first = locate_and_find(query)["centres"][0]
    assert expected in first["name"]
    assert first["distance_km"] <= max_km


def test_springfield_illinois_is_about_140_km_from_siteman():
    first = locate_and_find("Springfield, IL")["centres"][0]
    assert first["name"] == "Alvin J. Siteman Cancer Center"
    assert 135 <= first["distance_km"] <= 145


@pytest.mark.parametrize("query, nearest_km", [("Anchorage, AK", 10), ("Cheyenne, WY", 2), ("Billings, MT", 3)])
def test_states_that_had_no_centre_now_have_one_and_distances_are_right(query, nearest_km):
    result = locate_and_find(query, limit=3)
    lat, lon = result["location"]["latitude"], result["location"]["longitude"]
    by_haversine = sorted(load_centres(), key=lambda c: haversine_km(lat, lon, c.latitude, c.longitude))
    assert result["centres"][0]["name"] == by_haversine[0].name
    assert result["centres"][0]["distance_km"] <= nearest_km
    for centre in result["centres"]:
        independent = haversine_km(lat, lon, centre["latitude"], centre["longitude"])
        assert centre["distance_km"] == pytest.approx(independent, rel=0.006, abs=0.06)  # 0.1 km rounding


def test_anchorage_s_next_centre_is_whitehorse_about_800_km_away():
    second = locate_and_find("Anchorage, AK")["centres"][1]
    assert second["name"].startswith("Whitehorse General Hospital")
    assert 780 <= second["distance_km"] <= 830


def test_shortlist_gives_exactly_the_full_geodesic_ranking():
    """The great-circle prefilter must never change the answer: compare with a
    brute-force geodesic ranking on a grid over North America and Hawaii."""
    points = [(lat, lon) for lat in range(20, 80, 6) for lon in range(-165, -50, 9)]
    for lat, lon in points:
        full = sorted(load_centres(), key=lambda c: geodesic((lat, lon), (c.latitude, c.longitude)).km)
        assert [c["name"] for c in nearest(lat, lon, limit=10)] == [c.name for c in full[:10]], (lat, lon)


def test_result_dicts_have_the_documented_shape_and_order():
    found = nearest(43.25, -79.85, limit=5)
    assert len(found) == 5
    assert [c["distance_km"] for c in found] == sorted(c["distance_km"] for c in found)
    first = found[0]
    assert list(first) == ["name", "address", "city", "region", "postal_code", "country", "latitude",
                           "longitude", "phone", "tel", "phone_from", "phone_note", "website", "distance_km",
                           "map_url"]
    assert first["distance_km"] == round(first["distance_km"], 1)
    lat, lon = first["latitude"], first["longitude"]
    assert first["map_url"] == f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"


@pytest.mark.parametrize("lat, lon", [
    (90.1, 0), (0, -180.5), ("north", 0), (0, None), (float("nan"), 0), (0, float("-inf")), (False, 0),
])
def test_nearest_rejects_bad_coordinates(lat, lon):
    with pytest.raises(LocationError, match="must be a number between"):
        nearest(lat, lon)



# --- locate_and_find --------------------------------------------------------------

class ExplodingGeocoder:
    def geocode(self, query):
        raise AssertionError("browser coordinates must not be geocoded")


def test_browser_coordinates_from_a_form_skip_geocoding():
    result = locate_and_find("  ", " 43.2399 ", "-79.8464", limit="2", geocoder=ExplodingGeocoder())
    assert result["location"]["source"] == "browser"
    assert (result["location"]["latitude"], result["location"]["longitude"]) == (43.2399, -79.8464)
    assert result["location"]["approximate"] is False
    assert len(result["centres"]) == 2
    assert "Juravinski" in result["centres"][0]["name"]
    assert result["centres"][0]["distance_km"] < 0.5
    assert result["notices"] == []


BEVERLY_HILLS_BROWSER = ("34.09", "-118.41")


@pytest.mark.parametrize("typed", ["Hamilton, ON", "L8V 1C3"])
def test_a_typed_place_wins_over_browser_coordinates_and_says_so(typed):
    """Typed "Hamilton, ON" while the browser says Beverly Hills: the typed place is used."""
    result = locate_and_find(typed, *BEVERLY_HILLS_BROWSER)
    assert result["location"]["source"].startswith("offline")
    assert result["location"]["query"] == typed
    assert "Juravinski" in result["centres"][0]["name"]
    assert result["notices"] == [messages.TYPED_PLACE_USED]


def test_a_typed_place_that_is_not_found_is_not_replaced_by_the_position():
    with pytest.raises(LocationNotFound):
        locate_and_find("Xyzzyville", *BEVERLY_HILLS_BROWSER)


@pytest.mark.parametrize("lat, lon, message", [
    ("95", "0", "Latitude must be a number between -90 and 90."),
    ("abc", "0", "Latitude must be a number between -90 and 90."),
    ("0", "nan", "Longitude must be a number between -180 and 180."),
    ("0", "200", "Longitude must be a number between -180 and 180."),
])
def test_bad_browser_coordinates_have_clear_messages(lat, lon, message):
    with pytest.raises(LocationError) as info:
        locate_and_find(None, lat, lon)
    assert str(info.value) == message


def test_only_one_coordinate_is_an_error():
    with pytest.raises(LocationError, match="Both latitude and longitude"):
        locate_and_find(None, "43.2", "")


@pytest.mark.parametrize("location", [None, "", "   "])
def test_nothing_given_is_an_error(location):
    with pytest.raises(LocationError, match="Enter a city"):
        locate_and_find(location, None, "")


def test_typed_location_result_has_the_documented_shape():
    result = locate_and_find("Hamilton")
    assert set(result) == {"location", "centres", "nearest_distance_km", "far_from_centres", "notices",
                           "coverage", "attribution"}
    assert result["coverage"]["countries"] == ["CA", "US"]
    assert result["coverage"]["message"] == messages.COVERAGE
    assert result["nearest_distance_km"] == result["centres"][0]["distance_km"] < 5
    assert result["far_from_centres"] is False and result["notices"] == []
    assert result["location"] == {
        "query": "Hamilton", "resolved": "Hamilton, ON, Canada", "latitude": 43.25011,
        "longitude": -79.84963, "source": "offline-place",
        "alternatives": result["location"]["alternatives"], "approximate": False}
    assert "Hamilton, OH, USA" in result["location"]["alternatives"]
    assert len(result["centres"]) == 3
    assert any("GeoNames" in credit for credit in result["attribution"])
    assert any("Open Government Licence" in credit for credit in result["attribution"])


def test_unknown_place_raises_not_found_with_the_user_message():
    with pytest.raises(LocationNotFound) as info:
        locate_and_find("Xyzzyville")
    assert str(info.value) == messages.NOT_FOUND


@pytest.mark.parametrize("limit", [0, 11, -1, "abc", "", None, 2.5, True, "3.0"])
def test_bad_limits_are_rejected(limit):
    with pytest.raises(LocationError, match="whole number from 1 to 10"):
        locate_and_find("Hamilton", limit=limit)


@pytest.mark.parametrize("limit, count", [(1, 1), ("5", 5), (10, 10)])
def test_limit_sets_the_number_of_centres(limit, count):
    assert len(locate_and_find("Hamilton", limit=limit)["centres"]) == count


def test_nominatim_results_carry_osm_attribution(monkeypatch):
    class Fake:
        def geocode(self, query, **kwargs):
            return Location("Somewhere, Hamilton, ON", (43.24, -79.85, 0), {})

    geocoder = Geocoder({"GEOCODER_ONLINE": True, "GEOCODER_USER_AGENT": "tests/1.0"}, nominatim=Fake())
    monkeypatch.setattr(online.NOMINATIM_LIMITER, "_last_call", None)  # no 1 s wait from other tests
    result = locate_and_find("Xyzzy Street 12", geocoder=geocoder)
    assert result["location"]["source"] == "nominatim"
    assert "© OpenStreetMap contributors" in result["attribution"]
    assert "Juravinski" in result["centres"][0]["name"]


# --- saying how far, and what the list holds ------------------------------------------

def _nearest_by_haversine(lat, lon):
    return min(haversine_km(lat, lon, c.latitude, c.longitude) for c in load_centres())


@pytest.mark.parametrize("place", ["Nome, AK", "Inuvik"])
def test_a_place_far_from_every_centre_gets_the_distance_in_plain_words(place):
    result = locate_and_find(place)
    point = result["location"]["latitude"], result["location"]["longitude"]
    expected_km = _nearest_by_haversine(*point)
    assert expected_km > 700  # the premise: nothing on the list within 700 km
    assert result["far_from_centres"] is True
    assert result["nearest_distance_km"] == pytest.approx(expected_km, rel=0.01)
    warning = result["notices"][0]
    assert f"{result['nearest_distance_km']:,.0f} km away" in warning
    assert "family doctor" in warning and "cancer agency" in warning


def test_a_place_near_one_centre_only_is_told_the_others_are_far():
    """Iqaluit: its territorial hospital, then hospitals in Quebec about 1,700 km away."""
    result = locate_and_find("Iqaluit")
    distances = [c["distance_km"] for c in result["centres"]]
    assert distances[0] < FAR_FROM_CENTRES_KM < distances[-1]
    assert result["far_from_centres"] is False
    assert result["notices"] == [messages.OTHERS_FAR % {"threshold": FAR_FROM_CENTRES_KM}]


def test_the_far_threshold_is_the_documented_250_km():
    assert FAR_FROM_CENTRES_KM == 250
    just_inside = locate_and_find("Thunder Bay, ON", limit=1)  # its own centre, a few km away
    assert just_inside["far_from_centres"] is False and just_inside["notices"] == []


SHARED_CENTRES = SHARED_DATA / "centres" / "cancer_centres.csv"


SHARED_EXTRA = SHARED_CENTRES.parent / "us_missing_states.csv"


@pytest.mark.skipif(not SHARED_CENTRES.exists(), reason="needs the shared reference copy of the centre list")
def test_phone_numbers_are_those_of_the_reference_list_or_labelled_fills():
    """Where the reference list gives a number, the app's copy has the same digits; where it has
    none, the app's number is a fill whose source is in the row (see SOURCES.md)."""
    def rows(path):
        with open(path, encoding="utf-8", newline="") as f:
            return {(row["latitude"], row["longitude"]): row for row in csv.DictReader(f)}

    def digits(phone):
        return "".join(filter(str.isdigit, phone)).removeprefix("1") if len(phone) > 3 else phone

    ours, reference = rows(DATA_FILE), {**rows(SHARED_CENTRES), **rows(SHARED_EXTRA)}
    assert set(ours) <= set(reference) and len(reference) - len(ours) == 1  # St. Jude (paediatric) left out
    for point, row in ours.items():
        given = reference[point]["phone"]
        if given:
            assert digits(row["phone"]) == digits(given), row["name"]
        else:
            assert row["source"].startswith(reference[point]["source"]) and len(row["source"]) > len(
                reference[point]["source"]), row["name"]
