"""Image preprocessing shared by training and serving.

Both `training.data` and `app.pipeline` call these functions, so the models see in
production exactly the pixels they saw in training.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

CLASS_NAMES = ("benign", "malignant", "normal")
MODEL_SIZE = 256  # square side, in pixels, of what both networks see

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


def resize_for_model(gray: np.ndarray, size: int = MODEL_SIZE) -> np.ndarray:
    """Resize an (H, W) uint8 image to (size, size) with area averaging (no aliasing)."""
    import cv2

    interpolation = cv2.INTER_AREA if min(gray.shape) >= size else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=interpolation)


UNET_SIZE = 192  # the UNet works on a downscaled square; its mask is upsampled back
CLASSIFIER_SIZE = 224  # the classifier's input side (EfficientNet-Lite2 as fine-tuned)
CROP_VIEW_SIZE = 160  # the lesion-centred view is shrunk to this inside the two-view model
CROP_CONTEXT = 2.0  # the lesion view is this many times the lesion's box: margin and surroundings
MIN_CROP_SIDE = 64  # on the MODEL_SIZE square: a speck is still seen with its surroundings
MASK_THRESHOLD = 0.5
# A predicted blob is kept only if it covers at least this share of the frame and the UNet
# is, on average over the blob, at least this sure of it. Chosen on the validation split:
# together they halve the blobs on normal scans for a 0.01 loss of Dice on lesions.
MIN_LESION_FRACTION = 0.0025
MIN_LESION_CONFIDENCE = 0.75
CLASSIFIER_INPUT_KINDS = ("raw", "three_channel", "two_view")


def unet_input(square: np.ndarray) -> np.ndarray:
    """(UNET_SIZE, UNET_SIZE, 1) float32 pixels in [0, 255] from a MODEL_SIZE uint8 square
    (the models scale their input themselves, as their ImageNet encoders expect)."""
    import cv2

    small = cv2.resize(square, (UNET_SIZE, UNET_SIZE), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)[..., None]


def clean_probability(probability: np.ndarray) -> np.ndarray:
    """The UNet's probability map on the MODEL_SIZE square with specks and unsure blobs zeroed.

    Blobs are judged on the square and only this cleaned map is resized to the scan, so a
    large upload costs one float map at its size, not a stack of them.
    """
    import cv2

    probability = cv2.resize(probability.astype(np.float32), (MODEL_SIZE, MODEL_SIZE), interpolation=cv2.INTER_LINEAR)
    blobs = (probability > MASK_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    mean_probability = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=count) / np.maximum(areas, 1)
    keep = (areas >= MIN_LESION_FRACTION * probability.size) & (mean_probability >= MIN_LESION_CONFIDENCE)
    keep[0] = False
    return np.where(keep[labels], probability, 0.0).astype(np.float32)


def mask_at(cleaned: np.ndarray, height: int, width: int) -> np.ndarray:
    """Binary (height, width) mask from a `clean_probability` map."""
    import cv2

    return cv2.resize(cleaned, (width, height), interpolation=cv2.INTER_LINEAR) > MASK_THRESHOLD


def mask_from_probability(probability: np.ndarray, height: int, width: int) -> np.ndarray:
    """Binary (height, width) lesion mask straight from the UNet's probability map."""
    return mask_at(clean_probability(probability), height, width)


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


def classifier_input(square: np.ndarray, square_mask: np.ndarray, kind: str = "two_view") -> np.ndarray:
    """The classifier's (CLASSIFIER_SIZE, CLASSIFIER_SIZE, C) float32 input in [0, 255].

    - "two_view" (C=2): the whole scan, and the lesion-centred view cut by `lesion_box`
      (what the model fuses: the scan's texture everywhere plus a close look at the lesion);
    - "three_channel" (C=3): the scan, the scan inside the widened mask, the mask;
    - "raw" (C=1): the scan alone (the baseline; `square_mask` is ignored).
    """
    import cv2

    size = (CLASSIFIER_SIZE, CLASSIFIER_SIZE)
    image = cv2.resize(square, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if kind == "raw":
        return image[..., None]
    if kind == "two_view":
        top, left, side = lesion_box(square_mask)
        crop = square[top:top + side, left:left + side]
        interpolation = cv2.INTER_AREA if side >= CLASSIFIER_SIZE else cv2.INTER_LINEAR
        return np.stack([image, cv2.resize(crop, size, interpolation=interpolation).astype(np.float32)], axis=-1)
    if kind == "three_channel":
        mask = cv2.resize(square_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        widened = cv2.dilate(mask, np.ones((9, 9), np.uint8))
        return np.stack([image, image * widened, mask.astype(np.float32) * 255.0], axis=-1)
    raise ValueError(f"unknown classifier input kind {kind!r}; expected one of {CLASSIFIER_INPUT_KINDS}")


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Temperature-scaled softmax over the last axis (temperature fitted on validation)."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)
