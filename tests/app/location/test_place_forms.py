"""What people really type (issue 16): a country after the place, nicknames, a postal code
after the place, and places outside Canada and the US. Offline; no network."""
import pytest

from app.location import messages
from app.location.centres import locate_and_find
from app.location.coverage import foreign_country
from app.location.gazetteer import geocode_offline, load_gazetteer
from app.location.online import Geocoder
from app.location.places import LocationNotFound, OutsideCoverage
from tests.helpers.geo import haversine_km as km

TORONTO = (43.706, -79.399)
NEW_YORK_CITY = (40.714, -74.006)
QUEBEC_CITY = (46.812, -71.215)
MONTREAL = (45.509, -73.588)
ST_JOHNS = (47.565, -52.710)
HAMILTON_L8V = (43.2266, -79.8499)


@pytest.mark.parametrize("query, resolved, point", [
    ("Toronto Canada", "Toronto, ON, Canada", TORONTO),
    ("toronto, canada", "Toronto, ON, Canada", TORONTO),
    ("Toronto ON Canada", "Toronto, ON, Canada", TORONTO),
    ("Toronto, ON, CA", "Toronto, ON, Canada", TORONTO),
    ("Montreal Quebec Canada", "Montréal, QC, Canada", MONTREAL),
    ("NYC", "New York City, NY, USA", NEW_YORK_CITY),
    ("New York, NY", "New York City, NY, USA", NEW_YORK_CITY),
    ("New York NY USA", "New York City, NY, USA", NEW_YORK_CITY),
    ("Quebec City", "Québec, QC, Canada", QUEBEC_CITY),
    ("Québec City, QC", "Québec, QC, Canada", QUEBEC_CITY),
    ("Ville de Québec", "Québec, QC, Canada", QUEBEC_CITY),
    ("Montréal", "Montréal, QC, Canada", MONTREAL),
    ("montreal", "Montréal, QC, Canada", MONTREAL),
    ("St. John's NL", "St. John's, NL, Canada", ST_JOHNS),
    ("St Johns, Newfoundland and Labrador", "St. John's, NL, Canada", ST_JOHNS),
    ("Hamilton, ON L8V 1C3", "Hamilton, ON, Canada (postal area L8V)", HAMILTON_L8V),
    ("Hamilton ON L8V1C3", "Hamilton, ON, Canada (postal area L8V)", HAMILTON_L8V),
    ("711 Concession St, Hamilton, ON  L8V 1C3", "Hamilton, ON, Canada (postal area L8V)", HAMILTON_L8V),
    ("Beverly Hills, CA 90210", "Beverly Hills, CA, USA (ZIP 90210)", (34.0901, -118.4065)),
])
def test_what_people_type_resolves(query, resolved, point):
    result = geocode_offline(query)
    assert result.resolved.startswith(resolved)
    assert km(result.latitude, result.longitude, *point) < 1.0
    assert not result.approximate


def test_a_country_after_the_place_restricts_the_search_to_that_country():
    assert geocode_offline("Hamilton").resolved == "Hamilton, ON, Canada"
    assert geocode_offline("Hamilton USA").resolved == "Hamilton, OH, USA"
    assert geocode_offline("Aurora Canada").resolved == "Aurora, ON, Canada"  # not Aurora, CO


def test_an_unknown_postal_code_after_a_place_falls_back_to_the_place_and_says_so():
    result = geocode_offline("Hamilton, ON Z9Z 9Z9")
    assert result.resolved == "Hamilton, ON, Canada"
    assert result.approximate


@pytest.mark.parametrize("query, country", [
    ("Paris, France", "France"),
    ("Paris France", "France"),
    ("Mexico City, Mexico", "Mexico"),
    ("Mexico City Mexico", "Mexico"),
    ("Mexico", "Mexico"),
    ("Berlin, Allemagne", "Germany"),  # French names too
    ("London, UK", "United Kingdom"),
    ("10 Downing Street, London, England", "United Kingdom"),
    ("Seoul, Republic of Korea", "South Korea"),
])
def test_a_place_in_another_country_is_outside_coverage_and_says_where_to_ask(query, country):
    with pytest.raises(OutsideCoverage) as info:
        geocode_offline(query)
    assert info.value.country == country
    assert str(info.value) == messages.OUTSIDE_COVERAGE % {"country": country}
    assert "Canada and the United States" in str(info.value) and "family doctor" in str(info.value)
    assert isinstance(info.value, LocationNotFound)  # clients that only know "not found" still work


@pytest.mark.parametrize("query, resolved", [
    ("Atlanta Georgia", "Atlanta, GA, USA"),  # Georgia the state, not the country
    ("Trenton New Jersey", "Trenton, NJ, USA"),  # not Jersey
    ("New Britain", "New Britain, CT, USA"),  # not Britain
    ("Santa Fe New Mexico", "Santa Fe, NM, USA"),
    ("Lebanon, PA", "Lebanon, PA, USA"),
])
def test_canadian_and_us_places_named_like_countries_are_not_foreign(query, resolved):
    assert geocode_offline(query).resolved == resolved


@pytest.mark.parametrize("query", ["Smalltown New Jersey", "San Juan, Puerto Rico", "Xyzzyville"])
def test_unknown_places_in_coverage_get_the_not_found_message_with_the_coverage(query):
    with pytest.raises(LocationNotFound) as info:
        geocode_offline(query)
    assert not isinstance(info.value, OutsideCoverage)
    assert str(info.value) == messages.NOT_FOUND
    assert "Canada or the United States" in str(info.value) and "family doctor" in str(info.value)


def test_foreign_country_needs_the_whole_part_when_asked():
    regions = load_gazetteer().regions_by_key
    assert foreign_country("New Britain", regions, whole=True) is None
    assert foreign_country("New Britain", regions) == "United Kingdom"  # only once no place matched
    assert foreign_country("Springfield, IL", regions) is None


def test_outside_coverage_is_never_sent_to_nominatim():
    class Nominatim:
        calls = 0

        def geocode(self, *args, **kwargs):
            Nominatim.calls += 1

    geocoder = Geocoder({"GEOCODER_ONLINE": True, "GEOCODER_USER_AGENT": "tests/1.0"}, nominatim=Nominatim())
    with pytest.raises(OutsideCoverage):
        geocoder.geocode("Paris, France")
    assert Nominatim.calls == 0


# --- ambiguous places (issue 27, item 6) --------------------------------------------------------

def test_a_bare_name_that_is_also_a_city_abroad_says_so():
    found = locate_and_find("Paris")
    assert found["location"]["resolved"] == "Paris, TX, USA"
    assert found["notices"][0] == messages.ALSO_ABROAD % {"place": "Paris", "country": "France",
                                                           "resolved": "Paris, TX, USA"}
    assert not any("another country" in notice for notice in locate_and_find("Paris, TX")["notices"])
    assert not any("another country" in notice for notice in locate_and_find("Hamilton")["notices"])


def test_la_is_los_angeles():
    assert geocode_offline("LA").resolved == "Los Angeles, CA, USA"
    assert geocode_offline("Louisiana").resolved.startswith("New Orleans, LA, USA")


@pytest.mark.parametrize("latitude, longitude", [(48.85, 2.35), (19.43, -99.13), (51.5, -0.13)])
def test_a_browser_position_abroad_is_outside_coverage_not_4000_km_to_st_john_s(latitude, longitude):
    with pytest.raises(OutsideCoverage) as info:
        locate_and_find(latitude=latitude, longitude=longitude)
    assert str(info.value) == messages.POSITION_OUTSIDE and info.value.country is None


@pytest.mark.parametrize("latitude, longitude", [(43.26, -79.87), (21.3, -157.8), (61.2, -149.9), (63.75, -68.52),
                                                 (25.77, -80.19), (32.72, -117.16)])
def test_browser_positions_in_canada_and_the_us_are_searched(latitude, longitude):
    assert locate_and_find(latitude=latitude, longitude=longitude)["centres"]
