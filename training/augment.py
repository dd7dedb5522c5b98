"""Training-time augmentation (image and mask jointly) and mask perturbation."""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np


def build_augmentation() -> A.Compose:
    """Flips, rotation, shear and zoom as in the original report, plus mild intensity jitter."""
    return A.Compose([
        A.HorizontalFlip(p=0.5),
        A.Affine(scale=(0.85, 1.15), translate_percent=(-0.06, 0.06), rotate=(-15, 15),
                 shear=(-8, 8), border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0, p=0.8),
        A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.2, p=0.5),
        A.RandomGamma(gamma_limit=(80, 125), p=0.3),
        A.GaussianBlur(blur_limit=(3, 5), p=0.15),
    ])


SPURIOUS_BLOB_RATE = {"normal": 0.45, "lesion": 0.25}  # measured on validation: the UNet
# leaves a blob on about 4 in 10 normal scans and an extra one on some lesion scans
MISSED_LESION_RATE = 0.05


def perturb_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make a ground-truth mask look like a UNet prediction: eroded or dilated edges, sometimes
    a missed lesion or a spurious blob, so the classifier learns what such masks mean.
    """
    mask = mask.astype(np.uint8)
    has_lesion = bool(mask.any())
    size = int(rng.integers(1, 8)) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    roll = rng.random()
    if roll < 0.35:
        mask = cv2.dilate(mask, kernel)
    elif roll < 0.65:
        mask = cv2.erode(mask, kernel)
    if has_lesion and rng.random() < MISSED_LESION_RATE:
        mask[:] = 0
    if rng.random() < SPURIOUS_BLOB_RATE["lesion" if has_lesion else "normal"]:
        _add_blob(mask, rng)
    return mask.astype(bool)


def _add_blob(mask: np.ndarray, rng: np.random.Generator) -> None:
    """Draw a random ellipse covering roughly 0.3-4% of the frame, as the UNet's false blobs do."""
    h, w = mask.shape
    center = (int(rng.integers(w // 6, 5 * w // 6)), int(rng.integers(h // 6, 5 * h // 6)))
    axes = (int(rng.integers(w // 30, w // 9)), int(rng.integers(h // 40, h // 12)))
    cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
