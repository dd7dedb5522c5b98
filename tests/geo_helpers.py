"""Shared by the location tests: no network, and a distance that does not use geopy."""
import math
import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test: the location code must work offline."""
    def refuse(*args, **kwargs):
        raise AssertionError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def haversine_km(lat1, lon1, lat2, lon2):
    """Independent of geopy: a plain spherical distance (mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
