"""Training-time augmentation, image and mask jointly."""
from __future__ import annotations

import albumentations as A
import cv2


def _transforms() -> dict[str, A.BasicTransform]:
    """Each augmentation by name, so an ablation can leave one out (`build_augmentation`)."""
    return {
        "flip": A.HorizontalFlip(p=0.5),
        "affine": A.Affine(scale=(0.85, 1.15), translate_percent=(-0.06, 0.06), rotate=(-15, 15),
                           shear=(-8, 8), border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0, p=0.8),
        "brightness_contrast": A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.25, p=0.6),
        "gamma": A.RandomGamma(gamma_limit=(75, 135), p=0.4),
        "speckle": A.MultiplicativeNoise(multiplier=(0.85, 1.15), elementwise=True, p=0.25),
        "blur": A.GaussianBlur(blur_limit=(3, 5), p=0.2),
    }


AUGMENTATIONS = tuple(_transforms())


def build_augmentation(leave_out: frozenset[str] = frozenset()) -> A.Compose:
    """Flips, rotation, shear and zoom as in the original report, plus what differs between
    scanners and their settings: gain (brightness, contrast), gamma, speckle and blur;
    `leave_out` names the ones to skip (validation ablations)."""
    unknown = set(leave_out) - set(AUGMENTATIONS)
    if unknown:
        raise ValueError(f"unknown augmentations {sorted(unknown)}; expected some of {AUGMENTATIONS}")
    return A.Compose([t for name, t in _transforms().items() if name not in leave_out])
