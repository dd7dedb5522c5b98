"""Image preprocessing shared by training and serving: from an uploaded image to each network's input.

Both `training` and `inference.pipeline` call these functions, so the models see in
production exactly the pixels they saw in training. Each network's input is built by the
input kind the settings name (`inference.input_kinds`); what follows the networks is
`inference.postprocessing`.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from inference.input_kinds import CLASSIFIER_INPUTS, UNET_INPUTS
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


def unet_input(settings: InferenceSettings, square: np.ndarray) -> np.ndarray:
    """The UNet's input from a square scan, as `settings.unet_input` says."""
    return UNET_INPUTS[settings.unet_input].build(square, settings.unet_size)


def classifier_input(settings: InferenceSettings, square: np.ndarray, square_mask: np.ndarray) -> np.ndarray:
    """The classifier's input from a square scan and its lesion mask, as `settings.classifier_input` says."""
    return CLASSIFIER_INPUTS[settings.classifier_input].build(square, square_mask, settings.classifier_size)
