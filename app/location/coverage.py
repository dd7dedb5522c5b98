"""Where the centre search works (Canada and the US) and how to tell a place outside it.

Country names come from pycountry (ISO 3166-1 with its translations): 249 countries in
English and French, official and common names ("Royaume-Uni", "Republic of Korea"), which
a hand-kept list would not match. Names that are also a Canadian or US province, state or
country alias ("Georgia", "America") are never taken as foreign.
"""
from __future__ import annotations

import gettext
from functools import lru_cache
from typing import Any

import pycountry
from babel.core import get_global
from babel.dates import get_timezone_location

from app.location import messages
from app.location.messages import say
from app.location.places import COUNTRY_ALIASES, COUNTRY_NAMES, fold

COVERED_COUNTRIES = ("CA", "US")
# US territories are in ISO 3166-1 but not foreign: they get the plain "not found" answer.
US_TERRITORIES = {"AS", "GU", "MP", "PR", "UM", "VI"}
# Names people type for a country that ISO does not list as its name.
EXTRA_FOREIGN_NAMES = {"uk": "United Kingdom", "england": "United Kingdom", "scotland": "United Kingdom",
                       "wales": "United Kingdom", "great britain": "United Kingdom",
                       "britain": "United Kingdom", "holland": "Netherlands"}
MAX_COUNTRY_WORDS = 8  # "United Kingdom of Great Britain and Northern Ireland"


def coverage() -> dict[str, Any]:
    """What every centres answer (and every location error) says about coverage."""
    return {"countries": list(COVERED_COUNTRIES),
            "names": [say(COUNTRY_NAMES[code]) for code in COVERED_COUNTRIES],
            "message": say(messages.COVERAGE)}


@lru_cache(maxsize=1)
def _foreign_names() -> dict[str, str]:
    """Folded country name (English or French, any ISO form) -> English short name."""
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    names = dict(EXTRA_FOREIGN_NAMES)
    for country in pycountry.countries:
        if country.alpha_2 in (*COVERED_COUNTRIES, *US_TERRITORIES):
            continue
        display = getattr(country, "common_name", country.name)
        for name in {country.name, getattr(country, "official_name", None), display} - {None}:
            for form in (name, french.gettext(name)):
                names[fold(form)] = display
                names[fold(_uninverted(form))] = display
    return names


def _uninverted(name: str) -> str:
    """ISO writes some names inverted, "Korea, Republic of"; people type "Republic of Korea"."""
    head, _, tail = name.partition(", ")
    return f"{tail} {head}" if tail else name


def foreign_country(text: str, regions: dict[str, Any], whole: bool = False) -> str | None:
    """The foreign country that `text` (its last comma part) ends with, or None.

    With `whole`, only a part that is a country name and nothing else counts ("Paris, France",
    "Mexico"): then a place such as New Britain, CT is not taken for Britain. Without it, a
    trailing country name counts too ("Mexico City Mexico", "Berlin Allemagne"); call that
    only once the text matched no place. Text ending with a Canadian or US province, state
    or country (`regions`: folded names and codes) is never foreign: "Atlanta Georgia",
    "Smalltown New Jersey" (not Jersey), "Santa Fe New Mexico".
    """
    words = fold(text.rsplit(",", 1)[-1]).split()
    foreign = _foreign_names()
    for n in range(min(len(words), MAX_COUNTRY_WORDS), 0, -1):
        tail = " ".join(words[-n:])
        if tail in regions or tail in COUNTRY_ALIASES:
            return None
        if tail in foreign and (n == len(words) or not whole):
            return foreign[tail]
    return None


@lru_cache(maxsize=1)
def _cities_abroad() -> dict[str, str]:
    """Folded name (English or French) of each city CLDR names a time zone after, outside the
    covered countries -> its country code: "paris" -> "FR", "londres" -> "GB"."""
    cities = {}
    for zone, territory in get_global("zone_territories").items():
        if territory in (*COVERED_COUNTRIES, *US_TERRITORIES, "001", "ZZ"):
            continue
        for language in ("en", "fr"):
            cities.setdefault(fold(get_timezone_location(zone, locale=language, return_city=True)), territory)
    return cities


def namesake_abroad(typed: str) -> str | None:
    """The country code of a well-known city abroad that a bare place name also names ("Paris":
    FR, though the search found Paris, TX), or None; a name with a region or country never counts."""
    return None if "," in typed else _cities_abroad().get(fold(typed))
