"""Validation comparison of UNet recipes: input size and epochs, against the served UNet.

Trains the UNet as `python -m training train` does (same data, augmentation, loss, checkpoint on
validation IoU) with a changed input size, epoch count or encoder, then scores it and the bundled
`models/unet.tflite` through the served mask steps (blob cleaning, resizing to the scan) on every
source's validation split: Dice over lesion scans, share of normal scans given a lesion.
Validation only; the classifier is not retrained.

    .venv/bin/python -m experiments.unet_recipe --data BUSI BUSBRA --unet-size 224 --out runs/recipes/unet224
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from inference.paths import MODELS_DIR
from inference.pipeline import UNET_FILE, LiteRTModel, Pipeline
from inference.settings import InferenceSettings
from training import models
from training.__main__ import epochs_argument
from training.evaluate import segmentation_metrics
from training.models import keras_runner
from training.run import EPOCHS, SEED, TrainingRun
from training.sources import Source, describe, load_split_data
from training.train import train_unet


def score(segmenter, settings: InferenceSettings, val) -> dict[str, dict]:
    """Per source: segmentation metrics of the served mask steps at each scan's own size."""
    pipeline = Pipeline(segmenter, None, settings)
    masks = [pipeline.lesion_mask(pipeline.lesion_map(pipeline.segment(pipeline.square(image))), *image.shape)
             for image in val.images]
    return segmentation_by_source(masks, val)


def segmentation_by_source(masks, val) -> dict[str, dict]:
    """Segmentation metrics of predicted `masks` (one per validation scan), per source."""
    results = {}
    for source in dict.fromkeys(val.sources):
        rows = np.flatnonzero(val.where(source))
        results[source] = segmentation_metrics([masks[i] for i in rows], [val.true_masks[i] for i in rows],
                                               val.labels[rows])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, nargs="+", help="data-set folders (BUSI, BUS-BRA)")
    parser.add_argument("--unet-size", type=int, required=True, help="UNet input size in pixels (served: the card's)")
    parser.add_argument("--unet-encoder", default=models.UNET_ENCODER, help="ImageNet EfficientNet-Lite encoder")
    parser.add_argument("--epochs", type=epochs_argument, default=dict(EPOCHS), help="e.g. unet=14")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    served = Pipeline.load(args.models).settings
    settings = replace(served, unet_size=args.unet_size)
    sources = [Source.open(root) for root in args.data]
    train, val = (load_split_data(sources, split, settings.square_size) for split in ("train", "val"))
    results = {"bundled": score(LiteRTModel(args.models / UNET_FILE, served.threads), served, val)}
    print("bundled", json.dumps(results["bundled"]), flush=True)
    run = TrainingRun(settings=settings, data=describe(sources), seed=args.seed, epochs=args.epochs)
    unet = train_unet(run, args.out, "unet", (train.squares, train.square_masks), (val.squares, val.square_masks),
                      args.epochs["unet"], args.unet_encoder)
    name = f"unet_size={args.unet_size}, epochs={args.epochs['unet']}, encoder={args.unet_encoder}"
    results[name] = score(keras_runner(unet), settings, val)
    results["wall_time_minutes"] = run.wall_time_minutes
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
