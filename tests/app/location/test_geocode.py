"""Offline geocoder and the optional Nominatim fallback. No test touches the network:
the autouse fixture makes every socket connection fail."""
import logging
from types import SimpleNamespace

import pytest
from geopy.exc import GeocoderTimedOut, GeocoderUnavailable
from geopy.location import Location

from app.location import gazetteer, messages, online
from app.location.gazetteer import geocode_offline
from app.location.online import Geocoder
from app.location.places import GeocodeResult, LocationError, LocationNotFound, fold, parse_coordinates, place_key
from tests.helpers.geo import haversine_km as km

HAMILTON_ON = (43.2501, -79.8496)


@pytest.mark.parametrize("query, resolved, point, source", [
    ("Hamilton, ON", "Hamilton, ON, Canada", HAMILTON_ON, "offline-place"),
    ("Hamilton, Ontario", "Hamilton, ON, Canada", HAMILTON_ON, "offline-place"),
    ("hamilton", "Hamilton, ON, Canada", HAMILTON_ON, "offline-place"),
    ("  HAMILTON   ontario ", "Hamilton, ON, Canada", HAMILTON_ON, "offline-place"),
    ("Trois-Rivieres", "Trois-Rivières, QC, Canada", (46.345, -72.548), "offline-place"),
    ("Trois-Rivières", "Trois-Rivières, QC, Canada", (46.345, -72.548), "offline-place"),
    ("trois rivieres, Québec", "Trois-Rivières, QC, Canada", (46.345, -72.548), "offline-place"),
    ("Sault Ste. Marie", "Sault Ste. Marie, ON, Canada", (46.517, -84.333), "offline-place"),
    ("Sault Sainte Marie", "Sault Ste. Marie, ON, Canada", (46.517, -84.333), "offline-place"),
    ("sault st marie", "Sault Ste. Marie, ON, Canada", (46.517, -84.333), "offline-place"),
    ("Sault Ste. Marie, MI", "Sault Ste. Marie, MI, USA", (46.495, -84.345), "offline-place"),
    ("Springfield, IL", "Springfield, IL, USA", (39.802, -89.644), "offline-place"),
    ("Springfield, Illinois", "Springfield, IL, USA", (39.802, -89.644), "offline-place"),
    ("Springfield IL", "Springfield, IL, USA", (39.802, -89.644), "offline-place"),
    ("Springfield, IL, USA", "Springfield, IL, USA", (39.802, -89.644), "offline-place"),
    ("Iqaluit", "Iqaluit, NU, Canada", (63.747, -68.517), "offline-place"),
    ("Frobisher Bay", "Iqaluit, NU, Canada", (63.747, -68.517), "offline-place"),  # former name
    ("Anchorage, AK", "Anchorage, AK, USA", (61.218, -149.900), "offline-place"),
    ("Cheyenne, WY", "Cheyenne, WY, USA", (41.140, -104.820), "offline-place"),
    ("Billings, Montana", "Billings, MT, USA", (45.783, -108.501), "offline-place"),
    ("Mt. Pleasant, MI", "Mount Pleasant, MI, USA", (43.598, -84.768), "offline-place"),
    ("Ft McMurray", "Fort McMurray, AB, Canada", (56.727, -111.381), "offline-place"),
    ("Toronto, CA", "Toronto, ON, Canada", (43.706, -79.399), "offline-place"),  # CA: not California
    ("Los Angeles, CA", "Los Angeles, CA, USA", (34.052, -118.244), "offline-place"),
    ("L8V 1C3", "Hamilton, ON, Canada (postal area L8V)", (43.2266, -79.8499), "offline-postal"),
    ("l8v1c3", "Hamilton, ON, Canada (postal area L8V)", (43.2266, -79.8499), "offline-postal"),
    ("L8V", "Hamilton, ON, Canada (postal area L8V)", (43.2266, -79.8499), "offline-postal"),
    ("90210", "Beverly Hills, CA, USA (ZIP 90210)", (34.0901, -118.4065), "offline-zip"),
    ("10065-1234", "New York, NY, USA (ZIP 10065)", (40.7651, -73.9638), "offline-zip"),
])
def test_typed_locations_resolve_to_the_right_place(query, resolved, point, source):
    result = geocode_offline(query)
    assert result.resolved.startswith(resolved)
    assert km(result.latitude, result.longitude, *point) < 1.0
    assert result.source == source
    assert result.query == " ".join(query.split())


@pytest.mark.parametrize("query, most_populous, region_name", [
    ("Ontario", "Toronto, ON, Canada", "Ontario"),
    ("Québec", "Montréal, QC, Canada", "Quebec"),
    ("quebec", "Montréal, QC, Canada", "Quebec"),
    ("Illinois", "Chicago, IL, USA", "Illinois"),
    ("Colombie-Britannique", "Vancouver, BC, Canada", "British Columbia"),
])
def test_a_province_or_state_alone_uses_its_most_populous_place_and_says_so(query, most_populous, region_name):
    result = geocode_offline(query)
    assert result.source == "offline-region"
    assert result.approximate
    assert result.resolved == f"{most_populous} (most populous place in {region_name})"


def test_region_name_shared_with_a_city_offers_that_city():
    assert "Ontario, CA, USA" in geocode_offline("Ontario").alternatives
    assert "Québec, QC, Canada" in geocode_offline("Québec").alternatives
    assert geocode_offline("Washington").alternatives[0] == "Washington, DC, USA"


@pytest.mark.parametrize("query, chosen, alternative", [
    ("Hamilton", "Hamilton, ON, Canada", "Hamilton, OH, USA"),
    ("Aurora", "Aurora, CO, USA", "Aurora, ON, Canada"),  # most populous, not "Canada first"
    ("Richmond", "Richmond, VA, USA", "Richmond, BC, Canada"),
    ("Saint John", "Saint John, NB, Canada", "Saint John, IN, USA"),  # not St. John's (alt name)
    ("Sudbury", "Greater Sudbury, ON, Canada", "Sudbury, MA, USA"),  # alt name, 10x larger
    ("Kansas City", "Kansas City, MO, USA", "Kansas City, KS, USA"),
])
def test_ambiguous_names_pick_the_most_likely_place_and_list_others(query, chosen, alternative):
    result = geocode_offline(query)
    assert result.resolved == chosen
    assert alternative in result.alternatives
    assert chosen not in result.alternatives
    assert len(result.alternatives) <= gazetteer.MAX_ALTERNATIVES
    assert len(set(result.alternatives)) == len(result.alternatives)


def test_a_given_region_wins_and_leaves_no_ambiguity():
    result = geocode_offline("Hamilton, OH")
    assert result.resolved == "Hamilton, OH, USA"
    assert result.alternatives == []
    assert not result.approximate


def test_rural_fsa_uses_its_main_town_and_is_flagged_approximate():
    result = geocode_offline("X0A 0H0")  # "Outer Nunavut": its centroid is in the Arctic archipelago
    assert result.approximate
    assert result.resolved.startswith("Iqaluit, NU, Canada")
    assert "approximate" in result.resolved
    assert km(result.latitude, result.longitude, 63.747, -68.517) < 1


def test_rural_fsa_without_a_town_says_the_point_is_approximate():
    fsa = next(code for code, row in gazetteer.load_gazetteer().fsas.items()
               if row["rural"] == "1" and not row["town_latitude"])
    result = geocode_offline(fsa)
    assert result.approximate
    assert "approximate" in result.resolved and fsa in result.resolved


def test_urban_fsa_with_a_bad_geonames_point_uses_the_statcan_centroid():
    result = geocode_offline("P7B 6V4")  # GeoNames put P7B 58 km north of Thunder Bay
    assert not result.approximate
    assert km(result.latitude, result.longitude, 48.382, -89.250) < 10


@pytest.mark.parametrize("query", ["Xyzzyville", "Xyzzyville, ON", "00000", "H0H 0H0", "Z9Z",
                                   "Smalltown Nowhere, TX"])
def test_unknown_places_raise_location_not_found_with_the_user_message(query):
    with pytest.raises(LocationNotFound) as info:
        geocode_offline(query)
    assert str(info.value) == messages.NOT_FOUND
    assert isinstance(info.value, LocationError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("query, words", [
    ("", "Enter"), ("   ", "Enter"), (None, "Enter"), (42, "Enter"), (",,,", None),
    ("x" * 201, "too long"),
])
def test_empty_or_oversized_input_is_a_location_error(query, words):
    with pytest.raises(LocationError) as info:
        geocode_offline(query)
    if words:
        assert words in str(info.value)
        assert not isinstance(info.value, LocationNotFound)


def test_200_characters_is_still_accepted():
    tail = ", Hamilton, ON"
    padded = "9" * (200 - len(tail)) + tail  # the unknown leading part is dropped
    assert len(padded) == 200
    assert geocode_offline(padded).resolved == "Hamilton, ON, Canada"


def test_a_street_address_falls_back_to_its_city_and_is_approximate():
    result = geocode_offline("711 Concession St, Hamilton, ON")
    assert result.resolved == "Hamilton, ON, Canada"
    assert result.approximate


def test_normalisation_folds_accents_punctuation_case_and_saints():
    assert fold("  Trois-Rivières ") == "trois rivieres"
    assert fold("St. John's") == "st johns"
    assert place_key("Sault Ste. Marie") == place_key("SAULT SAINTE-MARIE") == place_key("sault st marie")


def test_prepared_index_keys_match_place_key():
    """data/gazetteer/prepare.py stores place_key() output; a change to place_key
    without re-running it would silently break lookups."""
    gaz = gazetteer.load_gazetteer()
    for key, places in gaz.places_by_name.items():
        assert all(place_key(p.name) == key for p in places), key
    assert all(place_key(key) == key for key in gaz.places_by_alt_name)
    assert [p.name for p in gaz.places_by_alt_name["frobisher bay"]] == ["Iqaluit"]
    assert "yqt" not in gaz.places_by_alt_name  # airport codes are not place names


def test_result_dict_has_the_documented_shape():
    assert set(geocode_offline("Iqaluit").to_dict()) == {
        "query", "resolved", "latitude", "longitude", "source", "alternatives", "approximate"}


@pytest.mark.parametrize("lat, lon", [
    (91, 0), (-90.5, 0), (0, 180.01), (0, -181), ("abc", 0), (0, "east"), (float("nan"), 0),
    (0, float("inf")), (None, 0), (True, 0), ("", 0), ([1], 0),
])
def test_bad_coordinates_raise_location_error(lat, lon):
    with pytest.raises(LocationError) as info:
        parse_coordinates(lat, lon)
    assert "must be a number between" in str(info.value)


def test_coordinates_from_a_form_are_parsed():
    assert parse_coordinates(" 43.25 ", "-79.85") == (43.25, -79.85)
    assert parse_coordinates(-90, 180) == (-90.0, 180.0)


# --- optional Nominatim -----------------------------------------------------------

class FakeNominatim:
    """Stands in for geopy's Nominatim: records calls, then returns or raises."""

    def __init__(self, outcome=None):
        self.outcome = outcome
        self.calls = []

    def geocode(self, query, **kwargs):
        self.calls.append((query, kwargs))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


ONLINE = {"GEOCODER_ONLINE": True, "GEOCODER_USER_AGENT": "busi-triage-tests/1.0 (+tests)"}
XYZZY = Location("Xyzzy Road, Somewhere, ON, Canada", (44.0, -79.0, 0), {})


@pytest.fixture(autouse=True)
def limiter_waits(monkeypatch):
    """The shared limiter would really sleep 1 s between calls: give it a fake
    clock that its sleeps advance, and record the waits."""
    limiter, now, waits = online.NOMINATIM_LIMITER, [1000.0], []

    def fake_sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(limiter, "_last_call", None)
    monkeypatch.setattr(limiter, "_clock", lambda: now[0])
    monkeypatch.setattr(limiter, "_sleep", fake_sleep)
    return waits


def test_online_is_off_by_default_and_nominatim_is_never_called():
    fake = FakeNominatim(XYZZY)
    geocoder = Geocoder(nominatim=fake)
    assert not geocoder.online
    with pytest.raises(LocationNotFound):
        geocoder.geocode("Xyzzyville")
    assert geocoder.geocode("711 Concession St, Hamilton, ON").source == "offline-place"
    assert fake.calls == []


def test_online_flag_given_as_a_string_false_stays_offline():
    assert not Geocoder({"GEOCODER_ONLINE": "false"}, nominatim=FakeNominatim()).online
    assert Geocoder({**ONLINE, "GEOCODER_ONLINE": "true"}, nominatim=FakeNominatim()).online


def test_a_complete_offline_match_never_goes_online():
    fake = FakeNominatim(XYZZY)
    assert Geocoder(ONLINE, nominatim=fake).geocode("Hamilton, ON").source == "offline-place"
    assert fake.calls == []


def test_nominatim_answer_is_used_with_osm_attribution_and_policy_parameters():
    fake = FakeNominatim(XYZZY)
    result = Geocoder({**ONLINE, "GEOCODER_TIMEOUT": 2}, nominatim=fake).geocode("Xyzzyville")
    assert result.source == "nominatim"
    assert (result.latitude, result.longitude) == (44.0, -79.0)
    assert result.resolved == "Xyzzy Road, Somewhere, ON, Canada"
    assert "© OpenStreetMap contributors" in result.attribution
    assert fake.calls == [("Xyzzyville", {"exactly_one": True, "country_codes": ["ca", "us"], "timeout": 2.0})]


@pytest.mark.parametrize("error", [GeocoderTimedOut("slow"), GeocoderUnavailable("down"),
                                   RuntimeError("unexpected")])
def test_nominatim_failure_falls_back_to_the_offline_result(error):
    fake = FakeNominatim(error)
    result = Geocoder(ONLINE, nominatim=fake).geocode("711 Concession St, Hamilton, ON")
    assert len(fake.calls) == 1
    assert result.source == "offline-place"
    assert result.resolved == "Hamilton, ON, Canada"
    assert result.approximate


@pytest.mark.parametrize("error", [GeocoderTimedOut("slow"), GeocoderUnavailable("down")])
def test_nominatim_failure_without_an_offline_result_is_not_found(error):
    fake = FakeNominatim(error)
    with pytest.raises(LocationNotFound):
        Geocoder(ONLINE, nominatim=fake).geocode("Xyzzyville")
    assert len(fake.calls) == 1


def test_nominatim_answer_with_impossible_coordinates_is_ignored():
    fake = FakeNominatim(SimpleNamespace(address="Broken", latitude=float("nan"), longitude=0.0))
    with pytest.raises(LocationNotFound):
        Geocoder(ONLINE, nominatim=fake).geocode("Xyzzyville")


def test_repeated_queries_are_answered_from_the_cache():
    fake = FakeNominatim(XYZZY)
    geocoder = Geocoder(ONLINE, nominatim=fake)
    first = geocoder.geocode("Xyzzyville")
    second = geocoder.geocode("  xyzzyville ")
    assert second == GeocodeResult(**{**first.to_dict(), "query": "xyzzyville"})
    assert len(fake.calls) == 1


def test_not_found_is_cached_but_failures_are_retried_later():
    missing = FakeNominatim(None)
    geocoder = Geocoder(ONLINE, nominatim=missing)
    for _ in range(2):
        with pytest.raises(LocationNotFound):
            geocoder.geocode("Xyzzyville")
    assert len(missing.calls) == 1

    flaky = FakeNominatim(GeocoderUnavailable("down"))
    geocoder = Geocoder(ONLINE, nominatim=flaky)
    for _ in range(2):
        with pytest.raises(LocationNotFound):
            geocoder.geocode("Xyzzyville")
    assert len(flaky.calls) == 2


def test_cache_is_bounded():
    fake = FakeNominatim(XYZZY)
    geocoder = Geocoder({**ONLINE, "GEOCODER_CACHE_SIZE": 2}, nominatim=fake)
    for query in ("Xyzzy one", "Xyzzy two", "Xyzzy three", "Xyzzy one"):
        geocoder.geocode(query)
    assert len(fake.calls) == 4  # "one" was evicted by "three"


def test_one_rate_limiter_is_shared_by_all_geocoders(limiter_waits):
    Geocoder(ONLINE, nominatim=FakeNominatim(XYZZY)).geocode("Xyzzy first")
    assert limiter_waits == []
    Geocoder(ONLINE, nominatim=FakeNominatim(XYZZY)).geocode("Xyzzy second")
    assert limiter_waits == [pytest.approx(1.0)]


def test_online_requires_an_identifying_user_agent():
    with pytest.raises(ValueError, match="GEOCODER_USER_AGENT"):
        Geocoder({"GEOCODER_ONLINE": True})


def test_real_nominatim_is_built_from_config_without_any_request():
    geocoder = Geocoder({**ONLINE, "GEOCODER_TIMEOUT": 4})
    assert geocoder._nominatim.headers["User-Agent"] == ONLINE["GEOCODER_USER_AGENT"]
    assert geocoder._nominatim.timeout == 4


def test_location_text_is_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    Geocoder(ONLINE, nominatim=FakeNominatim(GeocoderTimedOut("slow"))).geocode("Secretplace Road, Hamilton, ON")
    Geocoder(ONLINE, nominatim=FakeNominatim(XYZZY)).geocode("Secretplace")
    assert "secretplace" not in caplog.text.lower()
