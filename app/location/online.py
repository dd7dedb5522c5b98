"""The optional online lookup: OpenStreetMap's Nominatim behind the offline gazetteer.

Only the typed text (never an image or any health information) is sent to Nominatim, and only
when the deployment enables it; nothing here logs it.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Mapping

from geopy.extra.rate_limiter import RateLimiter

from app.location.gazetteer import lookup
from app.location.places import (
    GeocodeResult,
    LocationNotFound,
    OutsideCoverage,
    fold,
    parse_coordinates,
    validated_query,
)


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
        query = validated_query(query)
        try:
            offline, complete = lookup(query)
        except OutsideCoverage:
            raise  # Nominatim is asked for Canada and the US only: it cannot help
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


