"""A distance that does not use geopy, to check the location code's."""
import math


def haversine_km(lat1, lon1, lat2, lon2):
    """Independent of geopy: a plain spherical distance (mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
