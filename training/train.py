"""Training loops for the UNet and the mask-conditioned classifier, resumable from checkpoints."""
from __future__ import annotations

import csv
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from inference.pipeline import Pipeline
from inference.preprocessing import baseline_input, classifier_input, downscale, unet_input
from inference.settings import CLASS_NAMES, InferenceSettings
from training.augment import build_augmentation, perturb_mask
from training.data import Squares, load_squares
from training.models import build_classifier, build_unet, keras_runner
from training.run import TrainingRun

BATCH_SIZE = 16
UNET_LEARNING_RATE = 2e-3
CLASSIFIER_LEARNING_RATE = 1e-3


def dice_bce_loss(y_true, y_pred):
    """Binary cross-entropy plus soft Dice: BCE for pixels, Dice for the lesion's overlap."""
    bce = keras.losses.binary_crossentropy(y_true, y_pred)
    axes = (1, 2, 3)
    intersection = tf.reduce_sum(y_true * y_pred, axes)
    dice = (2 * intersection + 1.0) / (tf.reduce_sum(y_true, axes) + tf.reduce_sum(y_pred, axes) + 1.0)
    return tf.reduce_mean(bce, axis=(1, 2)) + (1.0 - dice)


def unet_target(settings: InferenceSettings, square_mask: np.ndarray) -> np.ndarray:
    """The UNet's (size, size, 1) target from a square bool mask."""
    return (downscale(square_mask.astype(np.uint8) * 255, settings.unet_size) > 127).astype(np.float32)[..., None]


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """Inverse-frequency weights so benign (the majority) does not drown the others."""
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    return {i: float(len(labels) / (len(CLASS_NAMES) * c)) for i, c in enumerate(counts)}


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented batches built on the fly from the training squares."""

    def __init__(self, squares, masks, make_example, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.squares, self.masks, self.make_example = squares, masks, make_example
        self.augment = build_augmentation()
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(squares))

    def __len__(self):
        return math.ceil(len(self.squares) / BATCH_SIZE)

    def __getitem__(self, index):
        rows = self.order[index * BATCH_SIZE:(index + 1) * BATCH_SIZE]
        inputs, targets = zip(*(self._example(i) for i in rows))
        return np.stack(inputs), np.stack(targets)

    def _example(self, i):
        out = self.augment(image=self.squares[i], mask=self.masks[i].astype(np.uint8))
        return self.make_example(out["image"], out["mask"].astype(bool), i, self.rng)

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.squares))


def _fit(model, batches, validation, run: TrainingRun, run_dir: Path, name: str, monitor: str, **fit_kwargs):
    """fit() with last/best checkpoints and a CSV log; resumes from the last checkpoint."""
    run_dir.mkdir(parents=True, exist_ok=True)
    last, log = run_dir / f"{name}_last.keras", run_dir / f"{name}_log.csv"
    initial_epoch = 0
    if last.exists() and log.exists():
        with log.open() as f:
            initial_epoch = sum(1 for _ in csv.DictReader(f))
        model = keras.models.load_model(last, compile=True, custom_objects={"dice_bce_loss": dice_bce_loss})
        print(f"resuming {name} at epoch {initial_epoch}", flush=True)
    callbacks = [
        keras.callbacks.ModelCheckpoint(last),
        keras.callbacks.ModelCheckpoint(run_dir / f"{name}_best.keras", monitor=monitor, mode="max", save_best_only=True),
        keras.callbacks.CSVLogger(log, append=True),
    ]
    start = time.time()
    if initial_epoch < run.epochs[name]:
        model.fit(batches, validation_data=validation, epochs=run.epochs[name], initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=2, **fit_kwargs)
    run.record_wall_time(run_dir, name, time.time() - start)
    return keras.models.load_model(run_dir / f"{name}_best.keras", compile=False)


def train_models(run: TrainingRun, run_dir: Path, data_root: Path, manifest: dict, stages: Sequence[str]) -> None:
    """The UNet, then each classifier stage ("classifier", "baseline") validated on UNet masks."""
    run.resumed_from(run_dir).save(run_dir)
    train_set, val_set = (load_squares(data_root, manifest, split, run.settings.square_size) for split in ("train", "val"))
    print(f"train {len(train_set.labels)} images, val {len(val_set.labels)}", flush=True)
    unet = train_unet(run, run_dir, train_set, val_set)
    segmenter = Pipeline(keras_runner(unet), None, run.settings)
    val_set = replace(val_set, masks=np.stack([segmenter.square_lesion_mask(s) for s in val_set.squares]))
    for stage in stages:
        train_classifier(run, run_dir, stage, train_set, val_set)


def train_unet(run: TrainingRun, run_dir: Path, train_set: Squares, val_set: Squares):
    """Train the segmenter on all training images (normals teach it to stay empty)."""
    settings = run.settings
    keras.utils.set_random_seed(run.seed)
    model = build_unet(settings)
    steps = run.epochs["unet"] * math.ceil(len(train_set.squares) / BATCH_SIZE)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(UNET_LEARNING_RATE, steps)),
        loss=dice_bce_loss,
        metrics=[keras.metrics.BinaryIoU(target_class_ids=[1], name="iou")],
    )
    batches = AugmentedBatches(train_set.squares, train_set.masks,
                               lambda img, m, i, rng: (unet_input(settings, img), unet_target(settings, m)), run.seed)
    val_inputs = np.stack([unet_input(settings, s) for s in val_set.squares])
    val_targets = np.stack([unet_target(settings, m) for m in val_set.masks])
    return _fit(model, batches, (val_inputs, val_targets), run, run_dir, "unet", "val_iou")


def train_classifier(run: TrainingRun, run_dir: Path, stage: str, train_set: Squares, val_set: Squares):
    """Train the classifier on (image, perturbed mask) inputs, validated on `val_set`'s masks
    (the UNet's); the "baseline" stage trains and validates it on raw images instead."""
    settings = run.settings
    if stage == "baseline":
        def make_input(square, mask):
            return baseline_input(settings, square)
    else:
        def make_input(square, mask):
            return classifier_input(settings, square, mask)
    keras.utils.set_random_seed(run.seed)
    model = build_classifier(settings)
    steps = run.epochs[stage] * math.ceil(len(train_set.squares) / BATCH_SIZE)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(CLASSIFIER_LEARNING_RATE, steps)),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", keras.metrics.F1Score(average="macro", name="macro_f1")],
    )
    one_hot = keras.utils.to_categorical(train_set.labels, len(CLASS_NAMES))

    def example(img, mask, i, rng):
        return make_input(img, perturb_mask(mask, rng)), one_hot[i]

    batches = AugmentedBatches(train_set.squares, train_set.masks, example, run.seed)
    validation = (np.stack([make_input(s, m) for s, m in zip(val_set.squares, val_set.masks)]),
                  keras.utils.to_categorical(val_set.labels, len(CLASS_NAMES)))
    return _fit(model, batches, validation, run, run_dir, stage, "val_macro_f1",
                class_weight=class_weights(train_set.labels))
