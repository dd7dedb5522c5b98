"""What every location lookup shares: the result, the errors, coordinates and name folding.

Privacy: nothing in app.location logs the typed text or a coordinate.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

import pycountry

from app.i18n import current_language, territory_name
from app.location import messages
from app.location.messages import say
from inference.marks import N_

MAX_QUERY_LENGTH = 200
# Credits and country names are message ids: say() them where they are shown.
ATTRIBUTION_GEONAMES = N_("Place data © GeoNames (geonames.org), CC BY 4.0")
ATTRIBUTION_STATCAN = N_("Contains information licensed under the Statistics Canada Open Licence")
ATTRIBUTION_OSM = N_("© OpenStreetMap contributors")
COUNTRY_NAMES = {"CA": N_("Canada"), "US": N_("USA")}
COUNTRY_ALIASES = {"canada": "CA", "ca": "CA", "usa": "US", "us": "US", "united states": "US",
                   "united states of america": "US", "america": "US"}
# Abbreviations people type in place names. "Saint", "Sainte", "St." and "Ste."
# all collapse to one token so "Sault St. Marie" still finds "Sault Ste. Marie".
TOKEN_SYNONYMS = {"st": "saint", "ste": "saint", "sainte": "saint", "mt": "mount", "ft": "fort"}
# Names people use that GeoNames does not list for the place (keys and values are place keys).
# "LA" is Los Angeles before it is Louisiana's code: a nickname wins over a region code.
PLACE_NICKNAMES = {"nyc": "new york city", "new york": "new york city", "la": "los angeles",
                   "quebec city": "quebec", "ville de quebec": "quebec"}


class LocationError(ValueError):
    """The location input cannot be used; the message is safe to show to the user."""


class LocationNotFound(LocationError):
    """Valid input that no gazetteer (or Nominatim, when enabled) knows."""

    def __init__(self, message: str | None = None):
        super().__init__(message or say(messages.NOT_FOUND))


class OutsideCoverage(LocationNotFound):
    """A place in a country the centre list does not cover ("Paris, France"); no online
    lookup can help, since the centres themselves are in Canada and the US only."""

    def __init__(self, country: str | None):
        """`country`: its English name, or None for a position (the browser's) in no covered country."""
        super().__init__(say(messages.OUTSIDE_COVERAGE, country=_country_in_language(country)) if country
                         else say(messages.POSITION_OUTSIDE))
        self.country = country


def _country_in_language(name: str) -> str:
    """An English country name (pycountry's) in the request's language (Babel's), else as it is."""
    if current_language() == "en":
        return name
    try:
        return territory_name(pycountry.countries.lookup(name).alpha_2)
    except (LookupError, KeyError):
        return name


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
        """Credits the data licences require wherever this result is shown, in the request's language."""
        return [say(credit) for credit in _ATTRIBUTION_BY_SOURCE.get(self.source, ())]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ATTRIBUTION_BY_SOURCE = {
    "offline-place": (ATTRIBUTION_GEONAMES,),
    "offline-region": (ATTRIBUTION_GEONAMES,),
    "offline-postal": (ATTRIBUTION_GEONAMES, ATTRIBUTION_STATCAN),
    "nominatim": (ATTRIBUTION_OSM,),
}


def _parse_coordinate(value: Any, message: str, bound: int) -> float:
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
    return (_parse_coordinate(latitude, say(messages.BAD_LATITUDE), 90),
            _parse_coordinate(longitude, say(messages.BAD_LONGITUDE), 180))


def fold(text: str) -> str:
    """Lower-case ASCII words: accents, apostrophes, punctuation and extra spaces go,
    so "Trois-Rivières" and "trois rivieres" compare equal."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = re.sub(r"['`]", "", ascii_text.lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_text).split())


def place_key(text: str) -> str:
    """Index key for a place name: `fold` plus St./Ste./Saint/Sainte, Mt., Ft."""
    return " ".join(TOKEN_SYNONYMS.get(token, token) for token in fold(text).split())


def search_key(text: str) -> str:
    """`place_key` of what a person typed, with nicknames ("NYC", "Quebec City") replaced by
    the name the gazetteer knows."""
    key = place_key(text)
    return PLACE_NICKNAMES.get(key, key)


def validated_query(query: Any) -> str:
    if not isinstance(query, str) or not query.strip():
        raise LocationError(say(messages.ENTER_A_PLACE))
    query = " ".join(query.split())
    if len(query) > MAX_QUERY_LENGTH:
        raise LocationError(say(messages.TOO_LONG, max=MAX_QUERY_LENGTH))
    return query
