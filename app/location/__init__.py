"""Nearest cancer centres to a typed place or the browser's position.

`places` (the shared result, errors and name folding), `gazetteer` (the offline lookup),
`online` (the optional Nominatim fallback, `Geocoder`), `centres` (the centre directory
and the nearest search), `coverage` (Canada and the US; other countries named) and
`messages` (every sentence shown to a person). Its data and their sources are in `data/`.
"""
