"""Validation sweep of the served UNet's mask post-processing: the probability threshold, the
blob-confidence filter, keeping only the most confident blob, and flip averaging of the map.

The bundled UNet runs on each validation scan and its mirror image; each setting then re-runs
only the served mask steps (`lesion_map`, `lesion_mask`) on the probability map (the scan's, or
its average with the mirrored scan's for the last row, at the served settings) and prints, per
source, Dice over lesion scans and the share of normal scans given a lesion. Validation only.

    .venv/bin/python -m experiments.mask_settings --data BUSI BUSBRA
"""
from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from experiments.unet_recipe import segmentation_by_source
from inference.paths import MODELS_DIR
from inference.pipeline import Pipeline
from training.sources import Source, load_split_data

THRESHOLDS = (0.4, 0.5, 0.6)
MIN_CONFIDENCES = (0.65, 0.75, 0.85)


def most_confident_blob(lesion_map: np.ndarray) -> np.ndarray:
    """The cleaned map with every blob but the one of largest probability mass zeroed."""
    count, labels = cv2.connectedComponents((lesion_map > 0).astype(np.uint8), connectivity=8)
    if count <= 2:
        return lesion_map
    mass = np.bincount(labels.ravel(), weights=lesion_map.ravel(), minlength=count)
    mass[0] = 0
    return np.where(labels == mass.argmax(), lesion_map, 0.0).astype(np.float32)


def sweep(pipeline: Pipeline, val) -> list[tuple[str, dict]]:
    squares = [pipeline.square(image) for image in val.images]
    probabilities = [pipeline.segment(square) for square in squares]
    rows = []
    for threshold, confidence, one_blob in itertools.product(THRESHOLDS, MIN_CONFIDENCES, (False, True)):
        steps = Pipeline(None, None, replace(pipeline.settings, mask_threshold=threshold,
                                             min_lesion_confidence=confidence))
        rows.append((f"threshold {threshold}, confidence {confidence}, {'one blob' if one_blob else 'all blobs'}",
                     scores(steps, val, probabilities, one_blob)))
    mirrored = [pipeline.segment(np.ascontiguousarray(square[:, ::-1]))[:, ::-1] for square in squares]
    averaged = [(plain + flipped) / 2 for plain, flipped in zip(probabilities, mirrored, strict=True)]
    rows.append(("served settings, map flip-averaged", scores(pipeline, val, averaged, False)))
    return rows


def scores(steps: Pipeline, val, probabilities, one_blob: bool) -> dict[str, dict]:
    """Per source: segmentation metrics of `steps`' mask steps on the given probability maps."""
    masks = []
    for image, probability in zip(val.images, probabilities, strict=True):
        lesion_map = steps.lesion_map(probability)
        masks.append(steps.lesion_mask(most_confident_blob(lesion_map) if one_blob else lesion_map, *image.shape))
    return segmentation_by_source(masks, val)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, nargs="+", help="data-set folders (BUSI, BUS-BRA)")
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    args = parser.parse_args()
    pipeline = Pipeline.load(args.models)
    served = pipeline.settings
    print(f"served: threshold {served.mask_threshold}, confidence {served.min_lesion_confidence}, all blobs")
    val = load_split_data([Source.open(root) for root in args.data], "val", served.square_size)
    for name, per_source in sweep(pipeline, val):
        cells = []
        for source, m in per_source.items():
            outlined = m["false_lesion_rate_normal"]
            cells.append(f"{source} Dice {m['dice_lesion_images']:.3f}"
                         + ("" if outlined is None else f", normals outlined {outlined:.0%}"))
        print(f"{name:45}  " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
