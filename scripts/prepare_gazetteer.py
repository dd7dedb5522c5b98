"""Rebuild the slim gazetteer files in app/location/data/gazetteer from the shared source files.

Run once by hand (not at run time):
    .venv/bin/python -m scripts.prepare_gazetteer /path/to/shared/data/gazetteer

Why a script: the choices made here (dropped columns, pre-normalised alternate
names, which FSA point to keep, dropped reserved FSAs) are listed in SOURCES.md and must stay reproducible.
"""
import csv
import math
import re
import sys
from pathlib import Path

from app.location.gazetteer import DATA_DIR
from app.location.places import place_key  # the same normalisation as at run time

PLACE_COLUMNS = ["name", "region", "country", "latitude", "longitude", "population", "key", "alt_keys"]
AIRPORT_CODE = re.compile(r"^[A-Z]{3,4}$")  # GeoNames lists "YAM", "SPI"... as alternate names
FSA_COLUMNS = ["fsa", "province", "place_name", "latitude", "longitude", "point_source",
               "rural", "town_hint", "town_latitude", "town_longitude"]
RESERVED_FSAS = {"H0H"}  # "Reserved (Santa Claus)", placed at the North Pole
DISAGREEMENT_KM = 5.0


def _km(lat1, lon1, lat2, lon2):
    """Haversine distance; precise enough to choose between two candidate points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _write(path, columns, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _with_keys(place):
    """Index keys of the name and alternate names, pre-normalised so that start-up
    does not fold 90,000 names (0.25 s). Airport codes and repeats are dropped."""
    own = place_key(place["name"])
    alts = {place_key(alt) for alt in place["alt_names"].split("|") if alt and not AIRPORT_CODE.match(alt)}
    return {**place, "key": own, "alt_keys": "|".join(sorted(alts - {own, ""}))}


def _choose_fsa_point(row, towns_by_province):
    """GeoNames point, unless it is only 'estimated' (accuracy 1) and the StatCan
    boundary centroid disagrees by > 5 km: then keep whichever lies nearer a
    populated place of the province (e.g. P7B Thunder Bay: GeoNames put it 58 km
    north in the bush; V6T UBC: 37 km away in the mountains)."""
    lat, lon = float(row["latitude"]), float(row["longitude"])
    if row["geonames_accuracy"] != "1" or not row["statcan_centroid_lat"]:
        return lat, lon, row["coord_source"]
    s_lat, s_lon = float(row["statcan_centroid_lat"]), float(row["statcan_centroid_lon"])
    if _km(lat, lon, s_lat, s_lon) <= DISAGREEMENT_KM:
        return lat, lon, row["coord_source"]
    towns = towns_by_province.get(row["province"], [])

    def to_town(a, b):
        return min((_km(a, b, t_lat, t_lon) for t_lat, t_lon in towns), default=math.inf)

    if to_town(s_lat, s_lon) < to_town(lat, lon):
        return s_lat, s_lon, "statcan_2021_boundary_centroid"
    return lat, lon, row["coord_source"]


def main(source_dir):
    source = Path(source_dir)
    places = _read(source / "ca_us_places.csv")
    _write(DATA_DIR / "ca_us_places.csv", PLACE_COLUMNS, [_with_keys(p) for p in places])
    towns = {}
    for p in places:
        if p["country"] == "CA":
            towns.setdefault(p["region"], []).append((float(p["latitude"]), float(p["longitude"])))
    fsas = []
    for row in _read(source / "ca_fsa_centroids.csv"):
        if row["fsa"] in RESERVED_FSAS:
            continue
        lat, lon, point_source = _choose_fsa_point(row, towns)
        fsas.append({**row, "latitude": f"{lat:.4f}", "longitude": f"{lon:.4f}",
                     "point_source": point_source})
    _write(DATA_DIR / "ca_fsa_centroids.csv", FSA_COLUMNS, fsas)
    _write(DATA_DIR / "ca_us_regions.csv", ["country", "code", "name", "name_fr"],
           _read(source / "ca_us_regions.csv"))


if __name__ == "__main__":
    main(sys.argv[1])
