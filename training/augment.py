"""Training-time augmentation, image and mask jointly."""
from __future__ import annotations

import albumentations as A
import cv2


def build_augmentation() -> A.Compose:
    """Flips, rotation, shear and zoom as in the original report, plus what differs between
    scanners and their settings: gain (brightness, contrast), gamma, speckle and blur."""
    return A.Compose([
        A.HorizontalFlip(p=0.5),
        A.Affine(scale=(0.85, 1.15), translate_percent=(-0.06, 0.06), rotate=(-15, 15),
                 shear=(-8, 8), border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0, p=0.8),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.25, p=0.6),
        A.RandomGamma(gamma_limit=(75, 135), p=0.4),
        A.MultiplicativeNoise(multiplier=(0.85, 1.15), elementwise=True, p=0.25),
        A.GaussianBlur(blur_limit=(3, 5), p=0.2),
    ])
