"""Calibration per source: is one temperature for every hospital the trouble, or the test size?

Runs the bundled pipeline over each source's validation and test splits and prints, per
source, the temperature its validation scans alone would choose, the ECE under the card's
pooled temperature and under that source's own, and a bootstrap 95% interval of the ECE
(how much 100 or 200 scans let it move). Nothing here changes the models: the served
temperature stays the one fitted on every source's validation scans together, since the app
cannot know which hospital a scan came from.

    .venv/bin/python -m experiments.calibration_by_source \
        --data ../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra
"""
from __future__ import annotations

import argparse

import numpy as np

from inference.paths import MODELS_DIR
from inference.pipeline import Pipeline, ensemble_probabilities
from inference.settings import CLASS_NAMES
from training import data
from training.metrics import expected_calibration_error
from training.sources import Source
from training.validation_choices import fit_temperature

BOOTSTRAP_DRAWS = 2000
SEED = 0


def bootstrap_interval(probabilities: np.ndarray, labels: np.ndarray,
                       draws: int = BOOTSTRAP_DRAWS) -> tuple[float, float]:
    """2.5% and 97.5% quantiles of the ECE over resamples of the scans (with replacement)."""
    rng = np.random.default_rng(SEED)
    values = []
    for _ in range(draws):
        rows = rng.integers(0, len(labels), len(labels))
        values.append(expected_calibration_error(probabilities[rows], labels[rows]))
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


def split_logits(pipeline: Pipeline, source: Source, split: str) -> tuple[np.ndarray, np.ndarray]:
    samples, images, _ = data.load_split(source.root, source.manifest, split)
    logits = np.stack([pipeline.predict_gray(image).logits for image in images])
    return logits, np.array([CLASS_NAMES.index(s.label) for s in samples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, nargs="+", help="data-set folders (BUSI, BUS-BRA)")
    parser.add_argument("--models", default=str(MODELS_DIR))
    args = parser.parse_args()
    pipeline = Pipeline.load(args.models)
    pooled = pipeline.settings.temperature
    print(f"card temperature (every source's validation together): {pooled:.3f}")
    for source in map(Source.open, args.data):
        val_logits, val_labels = split_logits(pipeline, source, "val")
        own = fit_temperature(val_logits, val_labels)
        print(f"{source.name}: temperature fitted on its validation alone {own:.3f}")
        for split in ("val", "test"):
            logits, labels = (val_logits, val_labels) if split == "val" else split_logits(pipeline, source, split)
            for name, temperature in (("pooled", pooled), ("own", own), ("none", 1.0)):
                probabilities = ensemble_probabilities(logits, temperature)
                low, high = bootstrap_interval(probabilities, labels)
                print(f"  {split:4} ({len(labels)}) temperature {name:6} {temperature:.3f}: ECE "
                      f"{expected_calibration_error(probabilities, labels):.3f} (95% bootstrap {low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
