"""Does the input check's "unfamiliar" verdict see a scanner it was not fitted on?

Leave a source out: the reference is fitted on BUSI's training scans alone and its thresholds on
BUSI's validation scans alone (the rules of `training.input_check.fit`), then BUS-BRA's
validation scans (another hospital, other scanners) are scored: how many would be flagged
unfamiliar or refused. The feature model is the bundled one (`models/input_check.tflite`).

    python -m experiments.input_check_leave_source_out --data BUSI BUSBRA \
        --out experiments/results/input_check_leave_source_out
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inference.input_check import FEATURE_FILE, Reference
from inference.paths import MODELS_DIR
from inference.pipeline import LiteRTModel
from training.input_check.fit import NEIGHBOURS, ceil4, choose_thresholds, source_features
from training.sources import Source


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs=2, required=True, help="BUSI root, BUS-BRA root")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    busi, busbra = (Source.open(root) for root in args.data)
    features = LiteRTModel(MODELS_DIR / FEATURE_FILE, 1)
    reference = Reference.fit(source_features(features, busi, "train"), NEIGHBOURS)
    own = reference.scores(source_features(features, busi, "val"))
    unfamiliar, refuse = (ceil4(value) for value in choose_thresholds({"busi": own}))
    other = reference.scores(source_features(features, busbra, "val"))
    results = {"fitted_on": "busi train (reference) and busi val (thresholds)", "unfamiliar_above": unfamiliar,
               "refuse_above": refuse,
               "busi_val": {"scans": len(own), "unfamiliar": int(((own > unfamiliar) & (own <= refuse)).sum()),
                            "refused": int((own > refuse).sum()), "median_score": float(np.median(own))},
               "busbra_val": {"scans": len(other), "unfamiliar": int(((other > unfamiliar) & (other <= refuse)).sum()),
                              "refused": int((other > refuse).sum()), "median_score": float(np.median(other))}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
