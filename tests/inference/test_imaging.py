"""Upload decoding and the overlay, below the HTTP layer (the input check: test_input_check.py)."""
from __future__ import annotations

import colorsys
import io

import numpy as np
import pytest
from PIL import Image

from inference.imaging import (
    OUTLINE_RGB,
    OVERLAY_MAX_SIDE,
    decode_upload,
    lesion_summary,
    mask_png,
    overlay_png,
    scan_and_outline_pngs,
)
from inference.input_errors import InputError
from tests.helpers import SCANS
from tests.helpers.uploads import encode, exif_rotated, scan

LIMITS = {"max_pixels": 16_000_000, "min_side": 64}


def test_decode_applies_exif_orientation():
    image = decode_upload(exif_rotated(), **LIMITS)
    assert image.size == scan().size
    assert image.mode in ("L", "RGB")


def test_minimum_side_is_inclusive():
    decode_upload(encode(Image.new("L", (64, 64), 10)), **LIMITS)
    with pytest.raises(InputError) as error:
        decode_upload(encode(Image.new("L", (300, 63), 10)), **LIMITS)
    assert (error.value.status, error.value.code) == (400, "image_too_small")


def test_overlay_outlines_the_mask_and_is_bounded_in_size():
    image = Image.new("L", (1600, 1000), 90)
    mask = np.zeros((1000, 1600), bool)
    mask[300:600, 400:900] = True
    with Image.open(io.BytesIO(overlay_png(image, mask))) as overlay:
        assert overlay.size == (OVERLAY_MAX_SIDE, 500)
        pixels = np.asarray(overlay.convert("RGB")).astype(int)
    outline = (pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] > 150)  # magenta
    rows, cols = np.nonzero(outline)
    assert abs(rows.min() - 150) <= 3 and abs(cols.min() - 200) <= 3
    assert not outline[250, 325], "inside the lesion stays the scan"


def test_outline_layer_is_transparent_but_for_the_outline_and_its_dark_halo():
    image = Image.new("L", (1600, 1000), 90)
    mask = np.zeros((1000, 1600), bool)
    mask[300:600, 400:900] = True
    scan_png, layer_png = scan_and_outline_pngs(image, mask)
    with Image.open(io.BytesIO(scan_png)) as scan, Image.open(io.BytesIO(layer_png)) as layer:
        assert scan.size == layer.size == (OVERLAY_MAX_SIDE, 500) and layer.mode == "RGBA"
        assert np.all(np.asarray(scan.convert("L")) == 90)  # the scan itself, nothing drawn on it
        rgba = np.asarray(layer).astype(int)
    opaque = rgba[..., 3] > 0
    assert not opaque[250, 325] and not opaque[50, 50], "inside and outside the lesion stay see-through"
    line = opaque & (rgba[..., 0] > 200) & (rgba[..., 1] < 80) & (rgba[..., 2] > 150)
    halo = opaque & (rgba[..., :3].max(axis=-1) < 60)
    assert line[150, 300] and halo.any()
    rows, cols = np.nonzero(line)
    assert abs(rows.min() - 150) <= 3 and abs(cols.min() - 200) <= 3


def test_outline_colour_stands_apart_from_scanner_marks():
    """Scanners mark their images in yellow, green, cyan or white; the outline is none of them."""
    hue = colorsys.rgb_to_hsv(*(channel / 255 for channel in OUTLINE_RGB))[0] * 360
    for scanner_hue in (60, 120, 180):  # yellow, green, cyan
        assert min(abs(hue - scanner_hue), 360 - abs(hue - scanner_hue)) >= 90
    assert min(OUTLINE_RGB) < 100  # saturated, unlike white text


def test_overlay_without_lesion_is_the_scan():
    image = Image.open(SCANS["normal"])
    with Image.open(io.BytesIO(overlay_png(image, np.zeros(image.size[::-1], bool)))) as overlay:
        assert overlay.size == image.size
        assert np.array_equal(np.asarray(overlay.convert("L")), np.asarray(image.convert("L")))


def test_mask_png_and_lesion_summary():
    mask = np.zeros((100, 200), bool)
    mask[10:30, 50:90] = True
    with Image.open(io.BytesIO(mask_png(mask))) as decoded:
        assert decoded.size == (200, 100) and decoded.mode == "L"
        assert np.array_equal(np.asarray(decoded) > 0, mask)
    assert lesion_summary(mask) == {"area_fraction": 0.04, "bbox": [50, 10, 40, 20]}
    assert lesion_summary(np.zeros((5, 5), bool)) == {"area_fraction": 0.0, "bbox": None}
