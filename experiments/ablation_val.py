"""Validation ablation of the inference choices: flip averaging and the malignant threshold.

Runs the bundled pipeline over the validation splits with flip averaging off and on, and
prints accuracy, macro-F1 and malignant recall with the most probable class and with the
card's malignant threshold. Validation only: these choices must not be tuned on test.

    .venv/bin/python -m experiments.ablation_val --data ../shared/data/busi/Dataset_BUSI_with_GT ../shared/data/busbra
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from inference.paths import MODELS_DIR
from inference.pipeline import Pipeline, reported_classes
from inference.settings import CLASS_NAMES
from training import data
from training.evaluate import classification_metrics
from training.sources import Source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, nargs="+", help="data-set folders (BUSI, BUS-BRA)")
    parser.add_argument("--models", default=str(MODELS_DIR))
    args = parser.parse_args()

    images, labels = [], []
    for source in map(Source.open, args.data):
        samples, source_images, _ = data.load_split(source.root, source.manifest, "val")
        images += source_images
        labels += [CLASS_NAMES.index(s.label) for s in samples]
    labels = np.array(labels)
    pipeline = Pipeline.load(args.models)
    threshold = pipeline.settings.malignant_threshold
    for flip in (False, True):
        pipeline.settings = replace(pipeline.settings, flip_average=flip)
        probabilities = np.stack([pipeline.probabilities(pipeline.predict_gray(img).logits) for img in images])
        for rule, predicted in (("most probable", None),
                                (f"malignant >= {threshold:.3f}", reported_classes(probabilities, threshold))):
            m = classification_metrics(labels, probabilities, predicted)
            print(f"flip_average={flip!s:5}  {rule:22}  accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
                  f"malignant recall {m['malignant_recall']:.3f}  ROC AUC {m['roc_auc_macro']:.3f}  ECE {m['ece']:.3f}")


if __name__ == "__main__":
    main()
