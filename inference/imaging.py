"""Uploaded scans in, pictures out: decode an upload, draw the lesion outline.

Everything works on bytes in memory; nothing here writes to disk or logs image content.
"""
from __future__ import annotations

import base64
import io
import warnings

import cv2
import numpy as np
from PIL import Image

from inference.dicom import decode_dicom, is_dicom
from inference.input_errors import InputError, check_size, too_many_pixels, unreadable_image
from inference.marks import N_
from inference.preprocessing import normalize_image

# Pillow format names we decode; every other decoder stays off (less attack surface).
ACCEPTED_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")
ACCEPTED_FORMATS_TEXT = N_("PNG, JPEG, BMP, TIFF, WebP or DICOM")  # translated where shown
# Pillow only warns about images between ~89 and ~179 MP (and refuses larger ones); in a
# process that decodes uploads the warning becomes the error `decode_upload` answers.
warnings.simplefilter("error", Image.DecompressionBombWarning)

# Default limits for uploads (the web app's MAX_IMAGE_PIXELS and MIN_IMAGE_SIDE, the batch CLI's).
# The pixel limit is checked from the file header before any pixel is decoded. Scanners export
# 0.3-4 MP; the pipeline's full-size mask work costs ~25 bytes per pixel (measured: +420 MB peak
# for 16 MP, +1 GB for 40 MP), so it also bounds memory.
MAX_IMAGE_PIXELS = 16_000_000
MIN_IMAGE_SIDE = 64

OVERLAY_MAX_SIDE = 800  # the result page never shows the scan larger than this
# Magenta on a dark halo: visible on any grey level, and unlike the yellow, green, white or cyan
# callipers, boxes and text that scanners draw on their images.
OUTLINE_RGB = (255, 0, 200)


def decode_upload(data: bytes, max_pixels: int, min_side: int) -> Image.Image:
    """The upload as an upright 8-bit "L" or "RGB" image, or an InputError saying why not.

    The rule (docs/serving.md): a file is judged by its signature, its first bytes. No
    accepted signature: 415. An accepted signature whose data fails to decode, however it
    fails: 400 unreadable_image, since the file is that format, damaged. The pixel limit is
    checked from the header, before any pixel is decoded, so a small file that claims huge
    dimensions (a decompression bomb) costs nothing.
    """
    if not data:
        raise InputError(400, "empty_file", "The file is empty. Choose a scan image to upload.")
    if is_dicom(data):
        return decode_dicom(data, max_pixels, min_side)
    if not _has_accepted_signature(data):
        raise InputError(415, "unsupported_format",
                         "This file is not an image we can read. Upload a %(formats)s file.",
                         formats=ACCEPTED_FORMATS_TEXT)
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        check_size(*image.size, max_pixels, min_side)
        image.load()  # decode here: a lazy load would fail later, outside this try
        return normalize_image(image)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels(max_pixels) from None
    # Pillow raises many types (OSError, ValueError, SyntaxError, struct.error, zlib.error,
    # EOFError, UnidentifiedImageError...) on damaged data; whichever it is, the file cannot be used.
    except Exception:  # noqa: BLE001
        raise unreadable_image() from None


def _has_accepted_signature(data: bytes) -> bool:
    """Pillow's own format checks on the first 16 bytes (what `Image.open` reads first)."""
    Image.init()
    return any(Image.OPEN[name][1](data[:16]) for name in ACCEPTED_FORMATS)


def overlay_png(image: Image.Image, mask: np.ndarray) -> bytes:
    """PNG of the scan (at most OVERLAY_MAX_SIDE px) with the lesion outline drawn on it (the report's picture)."""
    scan, mask = _scaled_for_display(image, mask)
    rgb = cv2.cvtColor(scan, cv2.COLOR_GRAY2RGB) if scan.ndim == 2 else scan.copy()
    _draw_outline(rgb, mask, halo=(0, 0, 0), line=OUTLINE_RGB)
    return _encode_png(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def scan_and_outline_pngs(image: Image.Image, mask: np.ndarray) -> tuple[bytes, bytes]:
    """The scan and, separately, its outline on a transparent layer of the same size, so that
    the page can stack them and let the outline be hidden without a script."""
    scan, mask = _scaled_for_display(image, mask)
    layer = np.zeros((*mask.shape, 4), np.uint8)  # RGBA, fully transparent
    _draw_outline(layer, mask, halo=(0, 0, 0, 255), line=(*OUTLINE_RGB, 255))
    scan_bgr = scan if scan.ndim == 2 else cv2.cvtColor(scan, cv2.COLOR_RGB2BGR)
    return _encode_png(scan_bgr), _encode_png(cv2.cvtColor(layer, cv2.COLOR_RGBA2BGRA))


def _scaled_for_display(image: Image.Image, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scan and mask shrunk to at most OVERLAY_MAX_SIDE (shrinking first keeps the drawing cheap)."""
    scan, mask = np.asarray(image), mask.astype(np.uint8)
    scale = OVERLAY_MAX_SIDE / max(scan.shape[:2])
    if scale < 1:
        size = (round(scan.shape[1] * scale), round(scan.shape[0] * scale))
        scan = cv2.resize(scan, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    return scan, mask


def _draw_outline(canvas: np.ndarray, mask: np.ndarray, halo: tuple, line: tuple) -> None:
    """The mask's outer edges: a dark halo, then the coloured line on it (visible on any grey)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    thickness = max(2, round(max(canvas.shape[:2]) / 300))
    cv2.drawContours(canvas, contours, -1, halo, thickness + 3, lineType=cv2.LINE_AA)
    cv2.drawContours(canvas, contours, -1, line, thickness, lineType=cv2.LINE_AA)


def mask_png(mask: np.ndarray) -> bytes:
    """The mask as a one-channel 0/255 PNG at the input's size."""
    return _encode_png(mask.astype(np.uint8) * 255)


def lesion_summary(mask: np.ndarray) -> dict:
    """Share of the image the lesion covers and its bounding box [x, y, w, h] (None if no lesion)."""
    mask = mask.astype(np.uint8)
    bbox = [int(v) for v in cv2.boundingRect(mask)] if mask.any() else None
    return {"area_fraction": round(float(mask.mean()), 5), "bbox": bbox}


def png_data_uri(png: bytes) -> str:
    """Inline PNG for an <img src>: the picture reaches the page without being stored anywhere."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _encode_png(array: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()
