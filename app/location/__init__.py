"""Nearest cancer centres to a typed place or the browser's position.

`places` (the shared result, errors and name folding), `gazetteer` (the offline lookup),
`online` (the optional Nominatim fallback, `Geocoder`) and `centres` (the centre directory
and the nearest search). Its data and their sources are in `data/`.
"""
