"""Upload decoding and the overlay, below the HTTP layer (the input check: test_input_check.py)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.errors import InputError
from app.imaging import OVERLAY_MAX_SIDE, decode_upload, lesion_summary, mask_png, overlay_png
from conftest import SCANS
from upload_samples import encode, exif_rotated, scan

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
    outline = (pixels[..., 0] > 200) & (pixels[..., 2] < 80)  # amber
    rows, cols = np.nonzero(outline)
    assert abs(rows.min() - 150) <= 3 and abs(cols.min() - 200) <= 3
    assert not outline[250, 325], "inside the lesion stays the scan"


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
