"""Validation ablation of the inference choices: flip averaging and the malignant threshold.

Runs the bundled pipeline over the validation split with flip averaging off and on, and
prints accuracy, macro-F1 and malignant recall with the most probable class and with the
card's malignant threshold. Validation only: these choices must not be tuned on test.

    .venv/bin/python benchmarks/ablation_val.py --data ../shared/data/busi/Dataset_BUSI_with_GT
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.pipeline import DEFAULT_MODELS_DIR, Pipeline, decide  # noqa: E402
from app.preprocessing import CLASS_NAMES, softmax  # noqa: E402
from training import data  # noqa: E402
from training.evaluate import classification_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="BUSI root (Dataset_BUSI_with_GT)")
    parser.add_argument("--models", default=str(DEFAULT_MODELS_DIR))
    parser.add_argument("--manifest", default=str(REPO / "training" / "split_manifest.json"))
    args = parser.parse_args()

    samples, images, _ = data.load_split(args.data, json.loads(Path(args.manifest).read_text()), "val")
    labels = np.array([CLASS_NAMES.index(s.label) for s in samples])
    pipeline = Pipeline.load(args.models)
    for flip in (False, True):
        pipeline.flip_average = flip
        probabilities = softmax(np.stack([pipeline.predict_gray(img).logits for img in images]), pipeline.temperature)
        for rule, predicted in (("most probable", None),
                                (f"malignant >= {pipeline.malignant_threshold:.3f}",
                                 decide(probabilities, pipeline.malignant_threshold))):
            m = classification_metrics(labels, probabilities, predicted)
            print(f"flip_average={flip!s:5}  {rule:22}  accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
                  f"malignant recall {m['malignant_recall']:.3f}  ROC AUC {m['roc_auc_macro']:.3f}  ECE {m['ece']:.3f}")


if __name__ == "__main__":
    main()
