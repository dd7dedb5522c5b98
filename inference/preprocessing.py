"""Image preprocessing shared by training and serving.

Both `training` and `inference.pipeline` call these functions, so the models see in
production exactly the pixels they saw in training. Each network's input is built by one
function chosen by name from the settings (`UNET_INPUTS`, `CLASSIFIER_INPUTS`): a new input
kind is a new entry there and a new value in the card.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
from PIL import Image, ImageOps

if TYPE_CHECKING:
    from inference.settings import InferenceSettings

_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def normalize_image(image: Image.Image) -> Image.Image:
    """Return an upright 8-bit "L" or "RGB" image, whatever the file's mode.

    EXIF orientation is applied; 16-bit and float images are stretched to 8 bits by
    their own range (scanners export those); alpha is flattened onto black, the
    background of an ultrasound frame; palette, CMYK and 1-bit become RGB or L.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in _HIGH_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        return Image.fromarray(((values - low) * scale).round().astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return image


def to_gray_array(image: Image.Image) -> np.ndarray:
    """The grayscale uint8 (H, W) array both models start from."""
    return np.asarray(normalize_image(image).convert("L"), dtype=np.uint8)


def resize_for_model(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize an (H, W) uint8 image to (size, size) with area averaging (no aliasing)."""
    import cv2

    interpolation = cv2.INTER_AREA if min(gray.shape) >= size else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=interpolation)


def downscale(square: np.ndarray, size: int) -> np.ndarray:
    """A (size, size) copy of a larger square by area averaging (as the UNet's input and target)."""
    import cv2

    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class InputKind:
    """One way to build a network's input: what its channels hold (written to the card) and
    the function that builds it."""

    channels: tuple[str, ...]
    build: Callable[..., np.ndarray]


def _gray_pixels(square: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 1) float32 pixels in [0, 255]: models that scale their input themselves,
    as their ImageNet encoders expect."""
    return downscale(square, size).astype(np.float32)[..., None]


# The lesion-centred view: this many times the lesion's bounding box (its margin and
# surroundings), at least MIN_CROP_SIDE pixels of the square so a speck is seen in context.
CROP_CONTEXT = 2.0
MIN_CROP_SIDE = 64


def lesion_box(square_mask: np.ndarray) -> tuple[int, int, int]:
    """(top, left, side) of the square view around the mask's lesions: CROP_CONTEXT times
    their bounding box, at least MIN_CROP_SIDE, shifted to lie inside the frame. The whole
    frame when the mask is empty, so a lesion the UNet missed is still looked at."""
    size = square_mask.shape[0]
    rows, cols = np.flatnonzero(square_mask.any(axis=1)), np.flatnonzero(square_mask.any(axis=0))
    if not len(rows):
        return 0, 0, size
    side = int(min(size, max(MIN_CROP_SIDE, round(CROP_CONTEXT * max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)))))
    centre_row, centre_col = (rows[0] + rows[-1] + 1) / 2, (cols[0] + cols[-1] + 1) / 2
    top = int(np.clip(round(centre_row - side / 2), 0, size - side))
    left = int(np.clip(round(centre_col - side / 2), 0, size - side))
    return top, left, side


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    """(size, size) float32 copy: area averaging when shrinking, bilinear when enlarging."""
    import cv2

    interpolation = cv2.INTER_AREA if image.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interpolation).astype(np.float32)


def _raw(square: np.ndarray, square_mask: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 1) float32 in [0, 255]: the scan alone (the baseline; the mask is ignored)."""
    return _resized(square, size)[..., None]


def _two_view(square: np.ndarray, square_mask: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 2) float32 in [0, 255]: the whole scan, and the lesion-centred view cut
    by `lesion_box` (the model fuses the scan's texture everywhere with a close look at the
    lesion; with no lesion found both views are the whole scan)."""
    top, left, side = lesion_box(square_mask)
    return np.stack([_resized(square, size), _resized(square[top:top + side, left:left + side], size)], axis=-1)


def _three_channel(square: np.ndarray, square_mask: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) float32 in [0, 255]: the scan, the scan inside the (slightly widened)
    lesion mask, and the mask itself, so the network sees the lesion's texture, shape and margin."""
    import cv2

    image = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = cv2.resize(square_mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    widened = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    return np.stack([image, image * widened, mask.astype(np.float32) * 255.0], axis=-1)


UNET_INPUTS = {"gray_pixels": InputKind(("scan",), _gray_pixels)}
CLASSIFIER_INPUTS = {"three_channel": InputKind(("image", "image inside widened mask", "mask"), _three_channel),
                     "two_view": InputKind(("scan", "lesion-centred view"), _two_view),
                     "raw": InputKind(("scan",), _raw)}


def unet_input(settings: InferenceSettings, square: np.ndarray) -> np.ndarray:
    """The UNet's input from a square scan, as `settings.unet_input` says."""
    return UNET_INPUTS[settings.unet_input].build(square, settings.unet_size)


def classifier_input(settings: InferenceSettings, square: np.ndarray, square_mask: np.ndarray) -> np.ndarray:
    """The classifier's input from a square scan and its lesion mask, as `settings.classifier_input` says."""
    return CLASSIFIER_INPUTS[settings.classifier_input].build(square, square_mask, settings.classifier_size)


def clean_probability(settings: InferenceSettings, probability: np.ndarray) -> np.ndarray:
    """The UNet's probability map on the square with specks and unsure blobs zeroed.

    Blobs are judged on the square and only this cleaned map is resized to the scan, so a
    large upload costs one float map at its size, not a stack of them.
    """
    import cv2

    size = (settings.square_size, settings.square_size)
    probability = cv2.resize(probability.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    blobs = (probability > settings.mask_threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    mean_probability = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=count) / np.maximum(areas, 1)
    keep = (areas >= settings.min_lesion_fraction * probability.size) & (mean_probability >= settings.min_lesion_confidence)
    keep[0] = False
    return np.where(keep[labels], probability, 0.0).astype(np.float32)


def mask_at(cleaned: np.ndarray, height: int, width: int, threshold: float) -> np.ndarray:
    """Binary (height, width) mask from a `clean_probability` map."""
    import cv2

    return cv2.resize(cleaned, (width, height), interpolation=cv2.INTER_LINEAR) > threshold


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Temperature-scaled softmax over the last axis (temperature fitted on validation)."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)
