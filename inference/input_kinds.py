"""The networks' input kinds, by the name the model card records (`InferenceSettings.unet_input`,
`classifier_input`): what each input's channels hold and the function that builds it from the square
scan (and the lesion mask). A new kind is one entry here and a new value in the card.

A leaf: the settings check a card's kinds against this registry, and `inference.preprocessing`
builds the inputs from it, without either importing the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


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


UNET_INPUTS = {"gray_pixels": InputKind(("scan",), _gray_pixels)}
CLASSIFIER_INPUTS = {"two_view": InputKind(("scan", "lesion-centred view"), _two_view),
                     "raw": InputKind(("scan",), _raw)}
