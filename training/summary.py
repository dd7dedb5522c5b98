"""The model card's public summary, computed from an evaluation's recorded metrics.

Pure Python on the metrics dict `training.evaluate` writes, so that `evaluate` (or anyone with
an old card) can fill the section the app's texts read (inference.public_summary).
"""
from __future__ import annotations

from inference.public_summary import PublicSummary
from inference.settings import CLASS_NAMES

NORMAL = CLASS_NAMES.index("normal")


def public_summary(results: dict, dataset: str) -> PublicSummary:
    """From one split's `results` (its "classification" holds the reported label's metrics).

    accuracy: the reported label's accuracy; lesions_called_normal: the share of benign and
    malignant scans (confusion rows, true class) whose reported label (column) was normal.
    """
    classification = results["classification"]
    confusion = classification["confusion"]
    lesion_rows = [row for true_class, row in enumerate(confusion) if true_class != NORMAL]
    lesion_scans = sum(sum(row) for row in lesion_rows)
    if not lesion_scans:
        raise ValueError("the split has no benign or malignant scans to measure missed lesions on")
    return PublicSummary(
        accuracy=round(float(classification["accuracy"]), 4),
        lesions_called_normal=round(sum(row[NORMAL] for row in lesion_rows) / lesion_scans, 4),
        scans=int(classification["n"]),
        evaluated_on=(f"held-out {results['split']} scans of {dataset}, none of whose near-duplicates "
                      "were trained on; end to end through the served pipeline"),
    )
