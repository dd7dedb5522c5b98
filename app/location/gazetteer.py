"""The offline lookup: turn what a person types ("Hamilton, ON", "L8V 1C3", "90210") into a point.

Offline first: a GeoNames gazetteer of CA/US places (population >= 1000), Canadian
FSA centroids and the `zipcodes` package answer almost everything without the
network. Nominatim (OpenStreetMap) is optional, off by default, and only asked when
the offline lookup failed or had to ignore part of the text (a street address): see
app.location.online.
"""
from __future__ import annotations

import csv
import re
from contextlib import suppress
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import zipcodes

from app.i18n import current_language
from app.location import messages
from app.location.coverage import foreign_country
from app.location.messages import say
from app.location.places import (
    COUNTRY_ALIASES,
    COUNTRY_NAMES,
    GeocodeResult,
    LocationNotFound,
    OutsideCoverage,
    fold,
    place_key,
    search_key,
    validated_query,
)

DATA_DIR = Path(__file__).parent / "data" / "gazetteer"
MAX_ALTERNATIVES = 5
ALT_NAME_POPULATION_FACTOR = 5
ZIP_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")
POSTAL_RE = re.compile(r"^([A-Z]\d[A-Z])(?:\s*\d[A-Z]\d)?$")  # full code or FSA only
# A code after a place, as on an envelope: "Hamilton, ON L8V 1C3", "Beverly Hills, CA 90210".
TRAILING_CODE_RE = re.compile(r"^(?P<rest>.*?)[\s,]+(?P<code>[A-Z]\d[A-Z](?:\s*\d[A-Z]\d)?|\d{5}(?:-\d{4})?)$",
                              re.IGNORECASE)


class Place(NamedTuple):
    name: str
    region: str
    country: str
    latitude: float
    longitude: float
    population: int

    @property
    def display(self) -> str:
        return f"{self.name}, {self.region}, {say(COUNTRY_NAMES[self.country])}"


class Region(NamedTuple):
    country: str
    code: str
    name: str
    name_fr: str  # empty when the French name is the English one

    @property
    def display(self) -> str:
        """The name in the request's language."""
        return self.name_fr if self.name_fr and current_language() == "fr" else self.name


class Gazetteer(NamedTuple):
    # index key -> places, most populous first; official names and alternate names
    # (old names, other languages) are kept apart because they are not equally good
    # evidence: "Saint John" is an alternate name of St. John's, NL.
    places_by_name: dict[str, list[Place]]
    places_by_alt_name: dict[str, list[Place]]
    regions_by_key: dict[str, Region]
    largest_place: dict[tuple[str, str], Place]  # (country, region code) -> most populous
    fsas: dict[str, dict[str, str]]


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _load_places() -> tuple[dict[str, list[Place]], dict[str, list[Place]], dict[tuple[str, str], Place]]:
    """`key` and `alt_keys` hold the names already passed through `place_key` (see
    data/gazetteer/prepare.py): folding 90,000 names here would cost 0.25 s at start-up."""
    by_name: dict[str, list[Place]] = {}
    by_alt_name: dict[str, list[Place]] = {}
    largest: dict[tuple[str, str], Place] = {}
    with open(DATA_DIR / "ca_us_places.csv", encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        next(rows)  # header: name, region, country, latitude, longitude, population, key, alt_keys
        for name, region, country, lat, lon, population, key, alt_keys in rows:
            place = Place(name, region, country, float(lat), float(lon), int(population or 0))
            by_name.setdefault(key, []).append(place)
            for alt_key in alt_keys.split("|") if alt_keys else ():
                by_alt_name.setdefault(alt_key, []).append(place)
            current = largest.get((country, region))
            if current is None or place.population > current.population:
                largest[(country, region)] = place
    for index in (by_name, by_alt_name):
        for places in index.values():
            places.sort(key=lambda p: -p.population)
    return by_name, by_alt_name, largest


def _load_regions() -> dict[str, Region]:
    """Codes and English/French names: "ON", "Ontario", "Québec", "Colombie-Britannique"."""
    regions = {}
    for row in _read_csv("ca_us_regions.csv"):
        region = Region(row["country"], row["code"], row["name"], row["name_fr"])
        for text in (row["code"], row["name"], row["name_fr"]):
            if text:
                regions[fold(text)] = region
    return regions


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Read and index the gazetteer once per process (lazily, on first lookup;
    call it at start-up to pay the ~0.1 s up front)."""
    by_name, by_alt_name, largest = _load_places()
    fsas = {row["fsa"]: row for row in _read_csv("ca_fsa_centroids.csv")}
    return Gazetteer(by_name, by_alt_name, _load_regions(), largest, fsas)




def _lookup_zip(query: str, zip5: str) -> GeocodeResult:
    matches = zipcodes.matching(zip5)
    if not matches:
        raise LocationNotFound()
    z = matches[0]
    place = f"{z['city']}, {z['state']}, {say(COUNTRY_NAMES['US'])}"
    return GeocodeResult(query, say(messages.ZIP_PLACE, place=place, code=zip5),
                         float(z["lat"]), float(z["long"]), "offline-zip")


def _lookup_postal(query: str, fsa_code: str) -> GeocodeResult:
    """FSA centroid. A rural FSA (second character 0) can span thousands of km²,
    so it is always flagged approximate and uses its main town when known."""
    row = load_gazetteer().fsas.get(fsa_code)
    if row is None:
        raise LocationNotFound()
    canada = say(COUNTRY_NAMES["CA"])
    if row["rural"] != "1":
        # The place and the code: StatCan's name lists the FSA's neighbourhoods ("Hamilton (Raleigh / ...)").
        place = f"{row['place_name'].split(' (')[0]}, {row['province']}, {canada}"
        return GeocodeResult(query, say(messages.POSTAL_PLACE, place=place, code=fsa_code),
                             float(row["latitude"]), float(row["longitude"]), "offline-postal")
    if row["town_latitude"]:
        resolved = say(messages.RURAL_TOWN, place=f"{row['town_hint']}, {row['province']}, {canada}", code=fsa_code)
        lat, lon = float(row["town_latitude"]), float(row["town_longitude"])
    else:
        resolved = say(messages.RURAL_CENTRE, code=fsa_code, region=f"{row['province']}, {canada}")
        lat, lon = float(row["latitude"]), float(row["longitude"])
    return GeocodeResult(query, resolved, lat, lon, "offline-postal", approximate=True)


def _alternatives(candidates: list[Place], chosen: Place) -> list[str]:
    seen = {chosen.display}
    out = []
    for place in candidates:
        if place.display not in seen and len(out) < MAX_ALTERNATIVES:
            seen.add(place.display)
            out.append(place.display)
    return out


def _candidates(name: str, region: Region | None = None, country: str | None = None) -> list[Place]:
    """Places called `name` (inside `region` or `country` when given), best first.

    Official names come first, by population, in either country: "prefer Canada"
    would send someone in Aurora, Colorado (pop. 359k) to Aurora, Ontario (55k).
    A place known only by an alternate name goes first when it is at least
    ALT_NAME_POPULATION_FACTOR times larger ("Sudbury": Greater Sudbury, ON, not
    Sudbury, MA); otherwise alternate-name matches only fill an empty list.
    """
    gaz = load_gazetteer()
    key = search_key(name)
    official, alternate = gaz.places_by_name.get(key, []), gaz.places_by_alt_name.get(key, [])
    if region or country:
        def wanted(p: Place) -> bool:
            return (p.country, p.region) == (region.country, region.code) if region else p.country == country

        official, alternate = list(filter(wanted, official)), list(filter(wanted, alternate))
    if not official:
        return alternate
    if alternate and alternate[0].population >= ALT_NAME_POPULATION_FACTOR * official[0].population:
        return [alternate[0], *official]
    return official


def _region_result(query: str, region: Region) -> GeocodeResult:
    """A province/state alone: its most populous place stands in for it (a centroid
    can sit in empty wilderness, e.g. Nunavut). Places that share the region's name
    (Ontario, California; Québec City) are offered as alternatives; alternate
    names are left out ("New York" is an old name of York, Nebraska)."""
    gaz = load_gazetteer()
    place = gaz.largest_place[(region.country, region.code)]
    same_name = gaz.places_by_name.get(place_key(region.name), [])  # official names only
    return GeocodeResult(query, say(messages.MOST_POPULOUS, place=place.display, region=region.display),
                         place.latitude, place.longitude, "offline-region",
                         _alternatives(same_name, place), approximate=True)


def _place_result(query: str, candidates: list[Place], approximate: bool) -> GeocodeResult:
    chosen = candidates[0]
    return GeocodeResult(query, chosen.display, chosen.latitude, chosen.longitude,
                         "offline-place", _alternatives(candidates, chosen), approximate)


@lru_cache(maxsize=4)
def _regions_in(country: str | None) -> dict[str, Region]:
    """Folded province/state names and codes, only those of `country` when given."""
    regions = load_gazetteer().regions_by_key
    return regions if country is None else {k: r for k, r in regions.items() if r.country == country}


def _match_words(query: str, text: str, approximate: bool, country: str | None = None) -> GeocodeResult | None:
    """One comma-free chunk: a province/state alone (not when part of the text was
    dropped: "Smalltown, TX" must not become Houston), a place, or "place region"
    without a comma ("Hamilton Ontario", "Springfield IL"); in `country` when given."""
    regions = _regions_in(country)
    nickname = search_key(text) != place_key(text)
    if fold(text) in regions and not approximate and not nickname:
        return _region_result(query, regions[fold(text)])
    if candidates := _candidates(text, country=country):
        return _place_result(query, candidates, approximate)
    words = fold(text).split()
    for n in (3, 2, 1):
        suffix = " ".join(words[-n:])
        if len(words) > n and suffix in regions:
            if candidates := _candidates(" ".join(words[:-n]), region=regions[suffix]):
                return _place_result(query, candidates, approximate)
    return None


def _match_parts(query: str, parts: list[str], approximate: bool, country: str | None) -> GeocodeResult | None:
    """Exactly these comma-separated parts, in `country` when given: ["place"] or
    ["place", "region or country"]. "CA" is tried as California first, then as Canada
    ("Toronto, CA")."""
    if len(parts) == 1:
        return _match_words(query, parts[0], approximate, country)
    if len(parts) != 2:
        return None
    qualifier = fold(parts[1])
    region = _regions_in(country).get(qualifier)
    qualifier_country = COUNTRY_ALIASES.get(qualifier)
    if country and qualifier_country != country:
        qualifier_country = None
    candidates = ((_candidates(parts[0], region=region) if region else [])
                  or (_candidates(parts[0], country=qualifier_country) if qualifier_country else []))
    return _place_result(query, candidates, approximate) if candidates else None


def _without_country(parts: list[str]) -> tuple[list[str], str | None]:
    """Take a trailing country off, as its own part ("Springfield, IL, USA") or as the last
    words ("Toronto Canada", "Montreal Quebec Canada"), and return it as a code. A lone
    "CA" after a place stays: it may be California ("Los Angeles, CA", "Toronto, CA")."""
    last = fold(parts[-1])
    if len(parts) > 1 and last in COUNTRY_ALIASES and (last != "ca" or len(parts) > 2):
        return parts[:-1], COUNTRY_ALIASES[last]
    words = last.split()
    for n in range(len(words) - 1, 0, -1):  # longest first: "united states of america"
        tail = " ".join(words[-n:])
        if tail in COUNTRY_ALIASES and tail != "ca":
            return [*parts[:-1], " ".join(words[:-n])], COUNTRY_ALIASES[tail]
    return parts, None


def _lookup_text(query: str, text: str | None = None) -> tuple[GeocodeResult, bool]:
    """Place names in `text` (default: the query). Leading parts that do not match (a
    street, a unit number) are dropped one at a time; such a result is approximate and
    not `complete`. Raises OutsideCoverage for a place in another country."""
    parts = [part for part in (p.strip() for p in (text or query).split(",")) if fold(part)]
    if not parts:
        raise LocationNotFound()
    regions = load_gazetteer().regions_by_key
    if foreign := foreign_country(parts[-1], regions, whole=True):
        raise OutsideCoverage(foreign)  # before a place match: "Mexico" is not Mexico, MO
    parts, country = _without_country(parts)
    for start in range(len(parts)):
        result = _match_parts(query, parts[start:], start > 0, country)
        if result:
            return result, start == 0
    if foreign := foreign_country(parts[-1], regions):
        raise OutsideCoverage(foreign)
    raise LocationNotFound()


def _lookup_code(query: str, code: str) -> GeocodeResult:
    """A US ZIP or a Canadian postal code / FSA (upper case); LocationNotFound if unknown."""
    if zip_match := ZIP_RE.match(code):
        return _lookup_zip(query, zip_match.group(1))
    if postal_match := POSTAL_RE.match(code):
        return _lookup_postal(query, postal_match.group(1))
    raise LocationNotFound()


def lookup(query: str) -> tuple[GeocodeResult, bool]:
    """(result, complete): complete is False when part of the text was ignored.

    A code alone, or after a place ("Hamilton, ON L8V 1C3"), is the most precise thing typed,
    so it wins; an unknown trailing code is dropped and the place before it is looked up."""
    upper = query.upper()
    if ZIP_RE.match(upper) or POSTAL_RE.match(upper):
        return _lookup_code(query, upper), True
    if trailing := TRAILING_CODE_RE.match(query):
        with suppress(LocationNotFound):
            return _lookup_code(query, trailing["code"].upper()), True
        return replace(_lookup_text(query, trailing["rest"])[0], approximate=True), False
    return _lookup_text(query)


def geocode_offline(query: str) -> GeocodeResult:
    """Resolve typed text without the network. Raises LocationError/LocationNotFound."""
    return lookup(validated_query(query))[0]



# A position farther than this from every place of the gazetteer is in no covered country (the
# farthest a Canadian or US point gets from a listed place is a few hundred km, in the Arctic).
COVERED_WITHIN_KM = 500


@lru_cache(maxsize=1)
def _place_points() -> np.ndarray:
    """Every gazetteer place as (latitude, longitude) in radians."""
    gaz = load_gazetteer()
    points = {(p.latitude, p.longitude) for places in gaz.places_by_name.values() for p in places}
    return np.radians(np.array(sorted(points)))


def near_a_covered_place(latitude: float, longitude: float) -> bool:
    """Whether a position is within COVERED_WITHIN_KM of a Canadian or US place (haversine)."""
    lat, lon = np.radians(latitude), np.radians(longitude)
    places = _place_points()
    a = (np.sin((places[:, 0] - lat) / 2) ** 2
         + np.cos(lat) * np.cos(places[:, 0]) * np.sin((places[:, 1] - lon) / 2) ** 2)
    return bool(2 * 6371.0 * np.arcsin(np.sqrt(a.min())) <= COVERED_WITHIN_KM)
