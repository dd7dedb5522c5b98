"""From the networks' outputs to what the app shows: the UNet's probability map cleaned of specks
and unsure blobs and resized into the scan's mask, and the classifier's logits calibrated into
probabilities. Training, export and evaluation score with these same functions.
"""
from __future__ import annotations

import numpy as np

from inference.settings import InferenceSettings


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
    keep = ((areas >= settings.min_lesion_fraction * probability.size)
            & (mean_probability >= settings.min_lesion_confidence))
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
