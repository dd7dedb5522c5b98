"""The model card's public summary, computed from an evaluation's recorded metrics.

Pure Python on the results `training.evaluate` writes, so that `evaluate` (or anyone with an old
card: `python -m training.summary`) can fill the section the app's texts read
(inference.public_summary). The per-scan figures come from arrays (`answer_counts`), so the
evaluation and the refill of an existing card count the same way.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inference.paths import BUSBRA_DIR, BUSI_DIR, MODELS_DIR
from inference.pipeline import CARD_FILE
from inference.public_summary import SECTION, PublicSummary, SourceSummary
from inference.settings import CLASS_NAMES

NORMAL = CLASS_NAMES.index("normal")
# An answer given with at least this top probability counts as confident (the texts say how
# often those were right, per source: the probabilities are overconfident on some sources).
CONFIDENT_AT = 0.9
# Where each source's scans were taken: the data set as cited, the hospital's country (ISO code)
# and its scanners (BUSI: Al-Dhabyani et al. 2020, Baheya Hospital, Cairo; BUS-BRA: bus_data.csv's
# `Device` column, a hospital in Brazil).
ORIGINS = {"busi": ("BUSI", "EG", ("GE LOGIQ E9",)),
           "busbra": ("BUS-BRA", "BR", ("GE Logiq 5", "GE Logiq 7"))}
DATA_DIRS = {"busi": BUSI_DIR, "busbra": BUSBRA_DIR}


def answer_counts(labels: np.ndarray, probabilities: np.ndarray, reported: np.ndarray,
                  confident_at: float = CONFIDENT_AT) -> dict:
    """How many scans, how many reported right, how many answered with a top probability of at
    least `confident_at`, and how many of those right (class indices; probabilities calibrated)."""
    right = np.asarray(reported) == np.asarray(labels)
    confident = np.asarray(probabilities).max(axis=1) >= confident_at
    return {"scans": int(len(right)), "right": int(right.sum()), "confident": int(confident.sum()),
            "confident_right": int((right & confident).sum()), "confident_at": confident_at}


def pooled(evaluated: list[dict]) -> dict:
    """Every source's test scans as one split (reported-label confusion and accuracy), for the
    one accuracy and missed-lesion rate the patient texts state."""
    confusion = np.sum([r["classification"]["confusion"] for r in evaluated], axis=0)
    return {"split": evaluated[0]["split"],
            "classification": {"confusion": confusion.tolist(), "n": int(confusion.sum()),
                               "accuracy": float(np.trace(confusion) / confusion.sum())}}


def public_summary(evaluated: list[dict]) -> PublicSummary:
    """From each source's test `results` (its "classification" holds the reported label's metrics,
    its "answers" `answer_counts`).

    accuracy: the pooled reported label's accuracy; lesions_called_normal: the share of benign and
    malignant scans (confusion rows, true class) whose reported label (column) was normal.
    """
    results = pooled(evaluated)
    classification = results["classification"]
    confusion = classification["confusion"]
    lesion_rows = [row for true_class, row in enumerate(confusion) if true_class != NORMAL]
    lesion_scans = sum(sum(row) for row in lesion_rows)
    if not lesion_scans:
        raise ValueError("the split has no benign or malignant scans to measure missed lesions on")
    levels = {r["answers"]["confident_at"] for r in evaluated}
    if len(levels) != 1:
        raise ValueError(f"the sources' confident answers were counted at different levels: {levels}")
    dataset = " and ".join(r["source"] for r in evaluated)
    return PublicSummary(
        accuracy=round(float(classification["accuracy"]), 4),
        lesions_called_normal=round(sum(row[NORMAL] for row in lesion_rows) / lesion_scans, 4),
        scans=int(classification["n"]),
        evaluated_on=(f"held-out {results['split']} scans of {dataset}, none of whose near-duplicates "
                      "were trained on; end to end through the served pipeline"),
        confident_at=levels.pop(),
        sources=tuple(_source_summary(r) for r in evaluated),
    )


def _source_summary(results: dict) -> SourceSummary:
    name, country, scanners = ORIGINS[results["source"]]
    answers = results["answers"]
    if answers["scans"] != results["classification"]["n"]:
        raise ValueError(f"{name}: {answers['scans']} scans counted but {results['classification']['n']} evaluated")
    return SourceSummary(name, country, scanners, answers["scans"], answers["right"], answers["confident"],
                         answers["confident_right"])


def refill_card(models_dir: Path = MODELS_DIR) -> PublicSummary:
    """Score each source's test split through the served pipeline and rewrite the card's public
    summary with its `answer_counts` (for a card evaluated before the counts existed; the card's
    metrics stay as evaluate wrote them, equal to reports/<source>/metrics_test.json). Refuses when
    the scoring does not reproduce the card's recorded accuracy."""
    from inference.pipeline import Pipeline
    from training import data
    from training.sources import Source

    pipeline = Pipeline.load(models_dir)
    card_path = models_dir / CARD_FILE
    card = json.loads(card_path.read_text())
    evaluated = []
    for name in card["data"]:
        source = Source.open(DATA_DIRS[name])
        samples, images, _ = data.load_split(source.root, source.manifest, "test")
        predictions = [pipeline.predict_gray(image) for image in images]
        results = {**card["metrics"][f"{name}_test"]}
        results["answers"] = answer_counts(
            np.array([CLASS_NAMES.index(s.label) for s in samples]),
            np.array([[p.probabilities[c] for c in CLASS_NAMES] for p in predictions]),
            np.array([CLASS_NAMES.index(p.label) for p in predictions]))
        recorded = round(results["classification"]["accuracy"] * results["classification"]["n"])
        if results["answers"]["right"] != recorded:
            raise RuntimeError(f"{name}: {results['answers']['right']} right now, {recorded} in the card")
        evaluated.append(results)
    summary = public_summary(evaluated)
    card[SECTION] = summary.as_card_section()
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=refill_card.__doc__)
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    print(json.dumps(refill_card(parser.parse_args().models).as_card_section(), indent=1))
