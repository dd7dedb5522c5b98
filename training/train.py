"""Training loops for the UNet and the mask-conditioned classifier, resumable from checkpoints."""
from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.preprocessing import CLASS_NAMES, baseline_input, classifier_input, unet_input
from training.augment import build_augmentation, perturb_mask
from training.models import build_classifier, build_unet

BATCH_SIZE = 16
UNET_EPOCHS = 40
CLASSIFIER_EPOCHS = 40
UNET_LEARNING_RATE = 2e-3
CLASSIFIER_LEARNING_RATE = 1e-3


def dice_bce_loss(y_true, y_pred):
    """Binary cross-entropy plus soft Dice: BCE for pixels, Dice for the lesion's overlap."""
    bce = keras.losses.binary_crossentropy(y_true, y_pred)
    axes = (1, 2, 3)
    intersection = tf.reduce_sum(y_true * y_pred, axes)
    dice = (2 * intersection + 1.0) / (tf.reduce_sum(y_true, axes) + tf.reduce_sum(y_pred, axes) + 1.0)
    return tf.reduce_mean(bce, axis=(1, 2)) + (1.0 - dice)


def unet_target(square_mask: np.ndarray) -> np.ndarray:
    """The UNet's (UNET_SIZE, UNET_SIZE, 1) target from a MODEL_SIZE bool mask."""
    return (unet_input(square_mask.astype(np.uint8) * 255) > 0.5).astype(np.float32)


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


def _fit(model, batches, validation, epochs: int, run_dir: Path, name: str, monitor: str, **fit_kwargs):
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
    if initial_epoch < epochs:
        model.fit(batches, validation_data=validation, epochs=epochs, initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=2, **fit_kwargs)
    _record_time(run_dir, name, time.time() - start)
    return keras.models.load_model(run_dir / f"{name}_best.keras", compile=False)


def _record_time(run_dir: Path, name: str, seconds: float) -> None:
    """Accumulate wall time per stage (across resumes) for the model card."""
    path = run_dir / "wall_time.json"
    times = json.loads(path.read_text()) if path.exists() else {}
    times[name] = times.get(name, 0.0) + seconds
    path.write_text(json.dumps(times, indent=2))


def train_unet(train_set, val_set, run_dir: Path, epochs: int = UNET_EPOCHS, seed: int = 0):
    """Train the segmenter on all training images (normals teach it to stay empty)."""
    squares, masks = train_set
    keras.utils.set_random_seed(seed)
    model = build_unet()
    steps = epochs * math.ceil(len(squares) / BATCH_SIZE)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(UNET_LEARNING_RATE, steps)),
        loss=dice_bce_loss,
        metrics=[keras.metrics.BinaryIoU(target_class_ids=[1], name="iou")],
    )
    batches = AugmentedBatches(squares, masks, lambda img, m, i, rng: (unet_input(img), unet_target(m)), seed)
    val_inputs = np.stack([unet_input(s) for s in val_set[0]])
    val_targets = np.stack([unet_target(m) for m in val_set[1]])
    return _fit(model, batches, (val_inputs, val_targets), epochs, run_dir, "unet", "val_iou")


def predict_square_masks(unet, squares: np.ndarray) -> np.ndarray:
    """UNet masks at MODEL_SIZE for a stack of squares, post-processed as in serving."""
    from app.preprocessing import mask_from_probability

    probs = unet.predict(np.stack([unet_input(s) for s in squares]), batch_size=32, verbose=0)[..., 0]
    size = squares.shape[1]
    return np.stack([mask_from_probability(p, size, size) for p in probs])


def train_classifier(train_set, train_labels, val_inputs, val_labels, run_dir: Path, name: str,
                     conditioned: bool = True, epochs: int = CLASSIFIER_EPOCHS, weights=None, seed: int = 0):
    """Train EfficientNetB3 on (image, perturbed mask) inputs, or on raw images as the baseline."""
    squares, masks = train_set
    keras.utils.set_random_seed(seed)
    model = build_classifier(weights=weights)
    steps = epochs * math.ceil(len(squares) / BATCH_SIZE)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(CLASSIFIER_LEARNING_RATE, steps)),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", keras.metrics.F1Score(average="macro", name="macro_f1")],
    )
    one_hot = keras.utils.to_categorical(train_labels, len(CLASS_NAMES))

    def example(img, mask, i, rng):
        inputs = classifier_input(img, perturb_mask(mask, rng)) if conditioned else baseline_input(img)
        return inputs, one_hot[i]

    batches = AugmentedBatches(squares, masks, example, seed)
    validation = (val_inputs, keras.utils.to_categorical(val_labels, len(CLASS_NAMES)))
    return _fit(model, batches, validation, epochs, run_dir, name, "val_macro_f1",
                class_weight=class_weights(train_labels))
