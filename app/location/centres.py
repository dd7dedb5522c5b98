"""Nearest cancer centres to a point, and the one call the routes use.

The centre list (143 rows, data/centres/cancer_centres.csv; see SOURCES.md there)
is read once per process. Ranking uses the WGS-84 geodesic, the accurate
distance; computing it for every centre costs ~10 ms, so the cheap spherical
great-circle distance picks the few that can be nearest first (exactly: see
`_shortlist`), bringing a lookup well under 1 ms.

Privacy: nothing here logs the typed location or any coordinate.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from geopy.distance import geodesic, great_circle

from app.i18n import territory_name
from app.location import messages
from app.location.coverage import coverage, namesake_abroad
from app.location.gazetteer import near_a_covered_place
from app.location.messages import say
from app.location.online import Geocoder
from app.location.places import GeocodeResult, LocationError, OutsideCoverage, parse_coordinates
from inference.marks import N_

DATA_FILE = Path(__file__).parent / "data" / "centres" / "cancer_centres.csv"
MIN_LIMIT, MAX_LIMIT = 1, 10
# Great-circle and geodesic distances differ by < 0.6 %; 1 % is a safe bound.
SPHERE_ERROR = 0.01
# Beyond this the answer says plainly how far the nearest centre is: roughly a 3-hour drive,
# past which the list (main cancer centres only) is no longer a practical answer on its own.
FAR_FROM_CENTRES_KM = 250
ATTRIBUTION_CENTRES = N_("Cancer centre data: Statistics Canada ODHF (contains information licensed "
                         "under the Open Government Licence – Canada), HIFLD (US public domain), "
                         "NCI-designated cancer centres list")
# What a centre's name says in brackets about it, in the list's English: translated where shown.
NAME_NOTES = frozenset((
    N_("oncology"), N_("radio-oncology"), N_("oncology / radio-oncology"),
    N_("formerly Tom Baker Cancer Centre"),
    N_("territorial hospital; oncology referral to BC Cancer"),
    N_("territorial hospital; oncology referral to Cross Cancer Institute"),
    N_("territorial hospital; oncology referral to Ottawa/Winnipeg/Edmonton")))


@dataclass(frozen=True)
class Centre:
    name: str
    address: str
    city: str
    region: str
    postal_code: str
    country: str
    latitude: float
    longitude: float
    phone: str
    website: str
    phone_from: str  # "" (the centre's own number) or a key of messages.PHONE_FROM

    def to_dict(self, distance_km: float) -> dict[str, Any]:
        lat, lon = self.latitude, self.longitude
        return {
            "name": display_name(self.name), "address": self.address, "city": self.city,
            "region": self.region, "postal_code": self.postal_code, "country": self.country,
            "latitude": lat, "longitude": lon, "phone": self.phone, "tel": tel_uri(self.phone),
            "phone_from": self.phone_from or None,
            "phone_note": say(messages.PHONE_FROM[self.phone_from]) if self.phone_from else None,
            "website": self.website, "distance_km": round(distance_km, 1),
            "map_url": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}",
        }


def display_name(name: str) -> str:
    """The name with its bracketed note ("(oncology)") in the request's language."""
    base, _, note = name.removesuffix(")").rpartition(" (")
    return f"{base} ({say(note)})" if base and note in NAME_NOTES else name


def tel_uri(phone: str) -> str:
    """A `tel:` link for "(NNN) NNN-NNNN", with " ext. N" as RFC 3966's ";ext=N"; "811" as it is."""
    number, _, extension = phone.partition(" ext. ")
    digits = "".join(filter(str.isdigit, number))
    dialled = f"+1{digits}" if len(digits) == 10 else digits
    return f"tel:{dialled}" + (f";ext={extension}" if extension else "")


@lru_cache(maxsize=1)
def load_centres() -> tuple[Centre, ...]:
    """Read the centre list once per process (the `source` column is provenance
    for people, not for the app, and is not kept)."""
    with open(DATA_FILE, encoding="utf-8", newline="") as f:
        return tuple(
            Centre(row["name"], row["address"], row["city"], row["region"], row["postal_code"],
                   row["country"], float(row["latitude"]), float(row["longitude"]),
                   row["phone"], row["website"], row["phone_from"])
            for row in csv.DictReader(f))


def _shortlist(point: tuple[float, float], limit: int) -> list[Centre]:
    """Every centre that can be among the `limit` nearest by geodesic distance.

    If c_k is the k-th smallest great-circle distance, the k nearest by geodesic
    all have a great-circle distance <= c_k * (1 + e) / (1 - e), e = SPHERE_ERROR.
    """
    by_sphere = sorted((great_circle(point, (c.latitude, c.longitude)).km, c) for c in load_centres())
    cutoff = by_sphere[min(limit, len(by_sphere)) - 1][0] * (1 + SPHERE_ERROR) / (1 - SPHERE_ERROR)
    return [centre for distance, centre in by_sphere if distance <= cutoff]


def nearest(latitude: Any, longitude: Any, limit: int = 3) -> list[dict[str, Any]]:
    """The `limit` nearest centres to a point, nearest first, with distance_km
    (geodesic, 0.1 km) and an OpenStreetMap link. Raises LocationError on a bad point."""
    point = parse_coordinates(latitude, longitude)
    limit = parse_limit(limit)
    ranked = sorted((geodesic(point, (c.latitude, c.longitude)).km, c) for c in _shortlist(point, limit))
    return [centre.to_dict(distance) for distance, centre in ranked[:limit]]


def parse_limit(limit: Any) -> int:
    """How many centres to show: a whole number from 1 to 10 (int or form string)."""
    message = say(messages.BAD_LIMIT, min=MIN_LIMIT, max=MAX_LIMIT)
    if isinstance(limit, bool) or isinstance(limit, float):
        raise LocationError(message)
    try:
        value = int(limit.strip() if isinstance(limit, str) else limit)
    except (TypeError, ValueError):
        raise LocationError(message) from None
    if not MIN_LIMIT <= value <= MAX_LIMIT:
        raise LocationError(message)
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _locate(location: str | None, latitude: Any, longitude: Any, geocoder: Geocoder) -> GeocodeResult:
    """The typed place when there is one: a person who types "90210" after sharing their
    position (or the other way round) means the place they typed, and a position the
    browser detected may be stale or wrong. Otherwise the browser's coordinates (no lookup)."""
    if not _blank(location):
        return geocoder.geocode(location)
    if not _blank(latitude) and not _blank(longitude):
        lat, lon = parse_coordinates(latitude, longitude)
        if not near_a_covered_place(lat, lon):
            raise OutsideCoverage(None)  # Paris, France: not St. John's, 4,000 km away
        return GeocodeResult("", say(messages.BROWSER_POSITION), lat, lon, "browser")
    if not _blank(latitude) or not _blank(longitude):
        raise LocationError(say(messages.HALF_A_POSITION))
    raise LocationError(say(messages.ENTER_A_PLACE_OR_SHARE))


def _notices(found: GeocodeResult, centres: list[dict[str, Any]], position_ignored: bool) -> list[str]:
    """Sentences to show above the list: the typed place won; a city abroad has the typed name
    ("Paris": Paris, France is not searched); the nearest centre is far; only the
    first ones are near (Iqaluit: its hospital, then Quebec 1,700 km away); the centres are in both
    countries (Anchorage: Whitehorse; Detroit: Windsor)."""
    notices = [say(messages.TYPED_PLACE_USED)] if position_ignored else []
    if found.source != "browser" and (abroad := namesake_abroad(found.query)):
        notices.append(say(messages.ALSO_ABROAD, place=found.query, country=territory_name(abroad),
                           resolved=found.resolved))
    distances = [centre["distance_km"] for centre in centres]
    if distances and distances[0] > FAR_FROM_CENTRES_KM:
        notices.append(say(messages.FAR_FROM_CENTRES, distance=f"{distances[0]:,.0f}"))
    elif distances and distances[-1] > FAR_FROM_CENTRES_KM:
        notices.append(say(messages.OTHERS_FAR, threshold=FAR_FROM_CENTRES_KM))
    if len({centre["country"] for centre in centres}) > 1:
        notices.append(say(messages.BOTH_COUNTRIES))
    return notices


_OFFLINE_GEOCODER = Geocoder()


def locate_and_find(location: str | None = None, latitude: Any = None, longitude: Any = None,
                    limit: Any = 3, geocoder: Geocoder | None = None) -> dict[str, Any]:
    """Resolve what the user gave and list the nearest centres.

    Returns {"location": {query, resolved, latitude, longitude, source, alternatives,
    approximate}, "centres": [...nearest() dicts], "nearest_distance_km", "far_from_centres"
    (nearest beyond FAR_FROM_CENTRES_KM), "notices": [sentences to show], "coverage",
    "attribution": [credits to show]}. Raises LocationError (LocationNotFound for unknown
    places, OutsideCoverage for other countries) with a message meant for the user. Without
    `geocoder`, lookups are offline only.
    """
    limit = parse_limit(limit)
    found = _locate(location, latitude, longitude, geocoder or _OFFLINE_GEOCODER)
    centres = nearest(found.latitude, found.longitude, limit)
    both_countries = len({centre["country"] for centre in centres}) > 1
    for centre in centres:  # the country in the address wherever the list crosses the border
        centre["country_name"] = territory_name(centre["country"]) if both_countries else None
    position_ignored = found.source != "browser" and not (_blank(latitude) and _blank(longitude))
    return {
        "location": found.to_dict(),
        "centres": centres,
        "nearest_distance_km": centres[0]["distance_km"],
        "far_from_centres": centres[0]["distance_km"] > FAR_FROM_CENTRES_KM,
        "notices": _notices(found, centres, position_ignored),
        "coverage": coverage(),
        "attribution": [*found.attribution, say(ATTRIBUTION_CENTRES)],
    }
