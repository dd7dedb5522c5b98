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


def perturb_mask(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make a ground-truth mask look like a UNet prediction: eroded or dilated edges,
    sometimes a missed lesion or a spurious blob, so the classifier learns to cope with them.
    """
    mask = mask.astype(np.uint8)
    size = int(rng.integers(1, 8)) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    roll = rng.random()
    if roll < 0.35:
        mask = cv2.dilate(mask, kernel)
    elif roll < 0.65:
        mask = cv2.erode(mask, kernel)
    if mask.any() and rng.random() < 0.05:
        mask[:] = 0
    elif rng.random() < 0.05:
        h, w = mask.shape
        center = (int(rng.integers(w // 5, 4 * w // 5)), int(rng.integers(h // 5, 4 * h // 5)))
        axes = (int(rng.integers(w // 30, w // 8)), int(rng.integers(h // 30, h // 8)))
        cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return mask.astype(bool)
