"""Uploads the app must handle: odd-but-valid scans and every kind of bad input.

Shared by the API and page tests, so both front doors are held to the same answers.
"""
from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.helpers import SCANS

SCAN = SCANS["malignant"]


NOT_ULTRASOUND = (422, "not_ultrasound", "does not look like a breast ultrasound")


def encode(image: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@lru_cache
def scan() -> Image.Image:
    with Image.open(SCAN) as image:
        return image.convert("L")


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height` pixels (a decompression bomb)."""
    data = bytearray(encode(Image.new("L", (8, 8))))
    ihdr = 8 + 4  # signature, chunk length
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return bytes(data)


def text_screenshot(dark: bool = False) -> Image.Image:
    background, ink = ((30, 30, 30), (225, 225, 225)) if dark else ((255, 255, 255), (20, 20, 20))
    image = Image.new("RGB", (900, 600), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    for line in range(22):
        draw.text((16, 12 + 26 * line), f"Patient portal – message {line}: your appointment is confirmed.",
                  fill=ink, font=font)
    return image


def photo(name: str) -> Image.Image:
    """A real photograph shipped offline with scikit-learn (a training requirement: skipped without it)."""
    load_sample_image = pytest.importorskip("sklearn.datasets").load_sample_image

    return Image.fromarray(load_sample_image(name))


def sixteen_bit() -> bytes:
    values = np.asarray(scan(), dtype=np.uint16) * 257
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    return encode(image)


def palette() -> bytes:
    return encode(scan().convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE))


def with_alpha() -> bytes:
    return encode(scan().convert("RGBA"))


def cmyk_jpeg() -> bytes:
    return encode(scan().convert("CMYK"), "JPEG", quality=92)


def exif_rotated() -> bytes:
    """The scan stored sideways with EXIF orientation 6 (display rotated 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(scan().transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif)


# name -> (bytes factory, expected upright (width, height))
VALID_ODD_UPLOADS = {
    "16-bit PNG": (sixteen_bit, scan().size),
    "palette PNG": (palette, scan().size),
    "RGBA PNG": (with_alpha, scan().size),
    "CMYK JPEG": (cmyk_jpeg, scan().size),
    "EXIF-rotated JPEG": (exif_rotated, scan().size),
    "BMP": (lambda: encode(scan(), "BMP"), scan().size),
    "TIFF": (lambda: encode(scan(), "TIFF"), scan().size),
    "WebP": (lambda: encode(scan(), "WEBP", lossless=True), scan().size),
}

# name -> (bytes factory, status, error code, words the message must contain)
BAD_UPLOADS = {
    "empty file": (lambda: b"", 400, "empty_file", "empty"),
    "truncated PNG": (lambda: SCAN.read_bytes()[:4000], 400, "unreadable_image", "damaged"),
    "text file named .png": (lambda: b"just some text, not a picture\n" * 20, 415, "unsupported_format", "PNG, JPEG"),
    "GIF": (lambda: encode(scan(), "GIF"), 415, "unsupported_format", "PNG, JPEG, BMP, TIFF, WebP or DICOM"),
    "PDF": (lambda: encode(scan().convert("RGB"), "PDF"), 415, "unsupported_format", "PNG, JPEG"),
    "1x1 image": (lambda: encode(Image.new("L", (1, 1), 128)), 400, "image_too_small", "at least 64×64"),
    "16.8 MP header": (lambda: png_claiming_size(4100, 4100), 413, "image_too_large", "16 megapixels"),
    "100 MP header (PIL warns)": (lambda: png_claiming_size(10000, 10000), 413, "image_too_large", "16 megapixels"),
    "400 MP header (PIL refuses)": (lambda: png_claiming_size(20000, 20000), 413, "image_too_large", "16 megapixels"),
    "colour photo (china)": (lambda: encode(photo("china.jpg"), "JPEG"), *NOT_ULTRASOUND),
    "colour photo (flower)": (lambda: encode(photo("flower.jpg"), "JPEG"), *NOT_ULTRASOUND),
    "grey-scale photo": (lambda: encode(photo("china.jpg").convert("L"), "PNG"), *NOT_ULTRASOUND),
    "text screenshot": (lambda: encode(text_screenshot()), *NOT_ULTRASOUND),
    "dark-mode screenshot": (lambda: encode(text_screenshot(dark=True)), *NOT_ULTRASOUND),
    "blank black": (lambda: encode(Image.new("L", (400, 300), 0)), *NOT_ULTRASOUND),
    "blank white": (lambda: encode(Image.new("L", (400, 300), 255)), *NOT_ULTRASOUND),
}
