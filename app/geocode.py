"""Turn what a person types ("Hamilton, ON", "L8V 1C3", "90210") into a point.

Offline first: a GeoNames gazetteer of CA/US places (population >= 1000), Canadian
FSA centroids and the `zipcodes` package answer almost everything without the
network. Nominatim (OpenStreetMap) is optional, off by default, and only asked when
the offline lookup failed or had to ignore part of the text (a street address).

Privacy: this module never logs the typed text or a coordinate. Only the typed
text (never an image or any health information) is sent to Nominatim, and only
when the deployment enables it.
"""
from __future__ import annotations

import csv
import logging
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import zipcodes
from geopy.extra.rate_limiter import RateLimiter

DATA_DIR = Path(__file__).parent / "data" / "gazetteer"
MAX_QUERY_LENGTH = 200
MAX_ALTERNATIVES = 5
ALT_NAME_POPULATION_FACTOR = 5
NOT_FOUND_MESSAGE = ("We could not find that place. Try a city and province/state, "
                     "or a postal/ZIP code.")
ATTRIBUTION_GEONAMES = "Place data © GeoNames (geonames.org), CC BY 4.0"
ATTRIBUTION_STATCAN = "Contains information licensed under the Statistics Canada Open Licence"
ATTRIBUTION_OSM = "© OpenStreetMap contributors"
COUNTRY_NAMES = {"CA": "Canada", "US": "USA"}
COUNTRY_ALIASES = {"canada": "CA", "ca": "CA", "usa": "US", "us": "US", "united states": "US",
                   "united states of america": "US", "america": "US"}
# Abbreviations people type in place names. "Saint", "Sainte", "St." and "Ste."
# all collapse to one token so "Sault St. Marie" still finds "Sault Ste. Marie".
TOKEN_SYNONYMS = {"st": "saint", "ste": "saint", "sainte": "saint", "mt": "mount", "ft": "fort"}
ZIP_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")
POSTAL_RE = re.compile(r"^([A-Z]\d[A-Z])(?:\s*\d[A-Z]\d)?$")  # full code or FSA only


class LocationError(ValueError):
    """The location input cannot be used; the message is safe to show to the user."""


class LocationNotFound(LocationError):
    """Valid input that no gazetteer (or Nominatim, when enabled) knows."""

    def __init__(self, message: str = NOT_FOUND_MESSAGE):
        super().__init__(message)


@dataclass(frozen=True)
class GeocodeResult:
    query: str
    resolved: str
    latitude: float
    longitude: float
    source: str  # offline-place / offline-postal / offline-zip / offline-region / nominatim / browser
    alternatives: list[str] = field(default_factory=list)
    approximate: bool = False

    @property
    def attribution(self) -> list[str]:
        """Credits the data licences require wherever this result is shown."""
        return list(_ATTRIBUTION_BY_SOURCE.get(self.source, ()))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ATTRIBUTION_BY_SOURCE = {
    "offline-place": (ATTRIBUTION_GEONAMES,),
    "offline-region": (ATTRIBUTION_GEONAMES,),
    "offline-postal": (ATTRIBUTION_GEONAMES, ATTRIBUTION_STATCAN),
    "nominatim": (ATTRIBUTION_OSM,),
}


# --- coordinates ------------------------------------------------------------------

def _parse_coordinate(value: Any, name: str, bound: int) -> float:
    message = f"{name} must be a number between -{bound} and {bound}."
    if isinstance(value, bool):
        raise LocationError(message)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise LocationError(message) from None
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise LocationError(message)
    return number


def parse_coordinates(latitude: Any, longitude: Any) -> tuple[float, float]:
    """Validate a point from a browser form, JSON or Nominatim (strings or numbers)."""
    return _parse_coordinate(latitude, "Latitude", 90), _parse_coordinate(longitude, "Longitude", 180)


# --- text normalisation -------------------------------------------------------

def fold(text: str) -> str:
    """Lower-case ASCII words: accents, apostrophes, punctuation and extra spaces go,
    so "Trois-Rivières" and "trois rivieres" compare equal."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = re.sub(r"['`]", "", ascii_text.lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text).split())


def place_key(text: str) -> str:
    """Index key for a place name: `fold` plus St./Ste./Saint/Sainte, Mt., Ft."""
    return " ".join(TOKEN_SYNONYMS.get(token, token) for token in fold(text).split())


# --- gazetteer ----------------------------------------------------------------

class Place(NamedTuple):
    name: str
    region: str
    country: str
    latitude: float
    longitude: float
    population: int

    @property
    def display(self) -> str:
        return f"{self.name}, {self.region}, {COUNTRY_NAMES[self.country]}"


class Region(NamedTuple):
    country: str
    code: str
    name: str


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
        region = Region(row["country"], row["code"], row["name"])
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


# --- offline lookups ------------------------------------------------------------

def _validated_query(query: Any) -> str:
    if not isinstance(query, str) or not query.strip():
        raise LocationError("Enter a city, a postal code or a ZIP code.")
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_LENGTH:
        raise LocationError(f"That location is too long (at most {MAX_QUERY_LENGTH} characters).")
    return query


def _lookup_zip(query: str, zip5: str) -> GeocodeResult:
    matches = zipcodes.matching(zip5)
    if not matches:
        raise LocationNotFound()
    z = matches[0]
    return GeocodeResult(query, f"{z['city']}, {z['state']}, USA (ZIP {zip5})",
                         float(z["lat"]), float(z["long"]), "offline-zip")


def _lookup_postal(query: str, fsa_code: str) -> GeocodeResult:
    """FSA centroid. A rural FSA (second character 0) can span thousands of km²,
    so it is always flagged approximate and uses its main town when known."""
    row = load_gazetteer().fsas.get(fsa_code)
    if row is None:
        raise LocationNotFound()
    area = f"postal area {fsa_code}, {row['place_name']}"
    if row["rural"] != "1":
        resolved = f"{row['place_name']}, {row['province']}, Canada (postal area {fsa_code})"
        return GeocodeResult(query, resolved, float(row["latitude"]), float(row["longitude"]),
                             "offline-postal")
    if row["town_latitude"]:
        resolved = (f"{row['town_hint']}, {row['province']}, Canada "
                    f"(main town of the rural {area}; approximate)")
        lat, lon = float(row["town_latitude"]), float(row["town_longitude"])
    else:
        resolved = (f"Centre of the rural {area}, {row['province']}, Canada "
                    "(approximate: enter your town for a better match)")
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
    key = place_key(name)
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
    return GeocodeResult(query, f"{place.display} (most populous place in {region.name})",
                         place.latitude, place.longitude, "offline-region",
                         _alternatives(same_name, place), approximate=True)


def _place_result(query: str, candidates: list[Place], approximate: bool) -> GeocodeResult:
    chosen = candidates[0]
    return GeocodeResult(query, chosen.display, chosen.latitude, chosen.longitude,
                         "offline-place", _alternatives(candidates, chosen), approximate)


def _match_words(query: str, text: str, approximate: bool) -> GeocodeResult | None:
    """One comma-free chunk: a province/state alone (not when part of the text was
    dropped: "Smalltown, TX" must not become Houston), a place, or "place region"
    without a comma ("Hamilton Ontario", "Springfield IL")."""
    regions = load_gazetteer().regions_by_key
    if fold(text) in regions and not approximate:
        return _region_result(query, regions[fold(text)])
    if candidates := _candidates(text):
        return _place_result(query, candidates, approximate)
    words = fold(text).split()
    for n in (3, 2, 1):
        suffix = " ".join(words[-n:])
        if len(words) > n and suffix in regions:
            if candidates := _candidates(" ".join(words[:-n]), region=regions[suffix]):
                return _place_result(query, candidates, approximate)
    return None


def _match_parts(query: str, parts: list[str], approximate: bool) -> GeocodeResult | None:
    """Exactly these comma-separated parts: ["place"] or ["place", "region or country"].
    "CA" is tried as California first, then as Canada ("Toronto, CA")."""
    if len(parts) == 1:
        return _match_words(query, parts[0], approximate)
    if len(parts) != 2:
        return None
    qualifier = fold(parts[1])
    region = load_gazetteer().regions_by_key.get(qualifier)
    country = COUNTRY_ALIASES.get(qualifier)
    candidates = ((_candidates(parts[0], region=region) if region else [])
                  or (_candidates(parts[0], country=country) if country else []))
    return _place_result(query, candidates, approximate) if candidates else None


def _lookup_text(query: str) -> tuple[GeocodeResult, bool]:
    """Place names. Leading parts that do not match (a street, a unit number) are
    dropped one at a time; such a result is approximate and not `complete`."""
    parts = [part for part in (p.strip() for p in query.split(",")) if fold(part)]
    if len(parts) > 2 and fold(parts[-1]) in COUNTRY_ALIASES and fold(parts[-1]) != "ca":
        parts = parts[:-1]  # "Springfield, IL, USA"
    for start in range(len(parts)):
        result = _match_parts(query, parts[start:], approximate=start > 0)
        if result:
            return result, start == 0
    raise LocationNotFound()


def _geocode_offline(query: str) -> tuple[GeocodeResult, bool]:
    """(result, complete): complete is False when part of the text was ignored."""
    upper = query.upper()
    if zip_match := ZIP_RE.match(upper):
        return _lookup_zip(query, zip_match.group(1)), True
    if postal_match := POSTAL_RE.match(upper):
        return _lookup_postal(query, postal_match.group(1)), True
    return _lookup_text(query)


def geocode_offline(query: str) -> GeocodeResult:
    """Resolve typed text without the network. Raises LocationError/LocationNotFound."""
    return _geocode_offline(_validated_query(query))[0]


# --- optional online lookup (Nominatim) -------------------------------------------

def _call_geocoder(geocoder: Any, query: str, **kwargs: Any) -> Any:
    return geocoder.geocode(query, **kwargs)


# One limiter for the whole process: the OSMF policy allows 1 request per second
# per application, not per user or per Geocoder. RateLimiter is thread-safe. No
# retries and no swallowing: with either, geopy logs the call arguments (the
# typed location) at WARNING; failures are handled in Geocoder._online instead.
NOMINATIM_LIMITER = RateLimiter(_call_geocoder, min_delay_seconds=1.0, max_retries=0,
                                swallow_exceptions=False)
_NOT_FOUND = object()


def _as_bool(value: Any) -> bool:
    """Config values may come from the environment as strings ("false", "0")."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


class _BoundedCache:
    """Thread-safe LRU dict; keeps Nominatim traffic low as the OSMF policy asks."""

    def __init__(self, maxsize: int):
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
            return self._data.get(key)

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)


class Geocoder:
    """Offline geocoder with optional Nominatim fallback.

    Config keys (e.g. a Flask `app.config`): GEOCODER_ONLINE (default False),
    GEOCODER_USER_AGENT (required when online: the OSMF policy needs an identifying
    agent, e.g. "busi-triage/1.0 (+https://your.site/contact)"), GEOCODER_TIMEOUT
    (seconds, default 3), GEOCODER_CACHE_SIZE (default 512). `nominatim` lets tests
    (or another deployment) inject any object with a geopy-style `geocode()`.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, nominatim: Any = None):
        config = config or {}
        self.online = _as_bool(config.get("GEOCODER_ONLINE", False))
        self.timeout = float(config.get("GEOCODER_TIMEOUT", 3))
        self._cache = _BoundedCache(int(config.get("GEOCODER_CACHE_SIZE", 512)))
        self._nominatim = nominatim
        if self.online and nominatim is None:
            self._nominatim = _make_nominatim(config.get("GEOCODER_USER_AGENT"), self.timeout)

    def geocode(self, query: Any) -> GeocodeResult:
        query = _validated_query(query)
        try:
            offline, complete = _geocode_offline(query)
        except LocationNotFound:
            offline, complete = None, False
        if not complete and self.online:
            online = self._online(query)
            if online is not None:
                return online
        if offline is None:
            raise LocationNotFound()
        return offline

    def _online(self, query: str) -> GeocodeResult | None:
        """Nominatim answer, or None on no match or on ANY failure (timeout, service
        down, bad answer): the caller then falls back to the offline result."""
        key = fold(query)
        cached = self._cache.get(key)
        if cached is not None:
            return None if cached is _NOT_FOUND else replace(cached, query=query)
        try:
            location = NOMINATIM_LIMITER(self._nominatim, query, exactly_one=True,
                                         country_codes=["ca", "us"], timeout=self.timeout)
            result = None if location is None else GeocodeResult(
                query, str(location.address), *parse_coordinates(location.latitude, location.longitude),
                "nominatim")
        except Exception:  # noqa: BLE001 - any failure must fall back to offline data
            return None  # transient failures are not cached
        self._cache.put(key, _NOT_FOUND if result is None else result)
        return result


def _make_nominatim(user_agent: Any, timeout: float) -> Any:
    from geopy.geocoders import Nominatim

    if not user_agent or not str(user_agent).strip():
        raise ValueError("GEOCODER_USER_AGENT must identify this deployment when "
                         "GEOCODER_ONLINE is on (OpenStreetMap Nominatim usage policy).")
    # geopy logs each request URL (DEBUG) and HTTP error bodies (INFO); both can
    # contain the typed location.
    logging.getLogger("geopy").setLevel(logging.WARNING)
    return Nominatim(user_agent=str(user_agent), timeout=timeout)


