"""Segmentation and calibration metrics (classification counts come from scikit-learn)."""
from __future__ import annotations

import numpy as np


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """2|A∩B| / (|A|+|B|); 1.0 when both masks are empty (nothing to find, nothing found)."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else float(2 * (pred & truth).sum() / total)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """|A∩B| / |A∪B|; 1.0 when both masks are empty."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    union = (pred | truth).sum()
    return 1.0 if union == 0 else float((pred & truth).sum() / union)


def pixel_accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Share of pixels labelled right (dominated by background; kept to compare with the report)."""
    return float((pred.astype(bool) == truth.astype(bool)).mean())


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10):
    """(bin centre, accuracy, mean confidence, count) per non-empty bin of top-class confidence."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            rows.append(((low + high) / 2, float(correct[in_bin].mean()), float(confidence[in_bin].mean()),
                         int(in_bin.sum())))
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE: the count-weighted gap between accuracy and confidence over equal-width bins."""
    rows = reliability_bins(probabilities, labels, bins)
    return float(sum(n * abs(acc - conf) for _, acc, conf, n in rows) / len(labels))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean −log of the probability given to each scan's true class (what temperature scaling minimises)."""
    return float(-np.mean(np.log(probabilities[np.arange(len(labels)), labels] + 1e-12)))
