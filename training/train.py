"""Training loops: the UNet, its cross-fitted masks, and the two-phase classifier fine-tuning.

Every stage checkpoints and logs per epoch and resumes where it stopped; `run.json` records
what was trained and how long each stage took.
"""
from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from inference.input_kinds import downscale
from inference.pipeline import Model, Pipeline
from inference.preprocessing import classifier_input, unet_input
from inference.settings import CLASS_NAMES, InferenceSettings
from training import models
from training.augment import AUGMENTATIONS, build_augmentation
from training.models import build_classifier, build_unet, keras_runner
from training.run import MEMBERS, TrainingRun
from training.sources import Source, SplitData, load_split_data

BATCH_SIZE = 16
UNET_LEARNING_RATE = 1e-3
CROSS_FIT_FOLDS = 2
DATA_WORKERS = 2  # threads preparing batches while the model trains (cv2 releases the GIL)
HEAD_LEARNING_RATE = 1e-3  # phase 1: the new head alone, backbone frozen
FINE_TUNE_LEARNING_RATE = 1e-4  # phase 2: the backbone too, at a lower rate
SCRATCH_LEARNING_RATE = 1e-3  # `--weights none`: one phase, every layer (the earlier B3 recipe's rate)
# Fine-tuning trains every layer but the batch norms, whose ImageNet statistics small noisy
# batches would overwrite (keras-io's EfficientNet fine-tuning example). The earlier recipe
# (stem and first three stages frozen too, every augmentation, 2 + 8 epochs) saved 40% of a
# step but scored 0.06 lower validation accuracy on BUSI (experiments/classifier_recipe.py).
# The classifier skips gamma, speckle and blur (each lowered BUSI's validation accuracy) and
# brightness/contrast (BUS-BRA, unseen, scored higher without it over three seeds; BUSI the
# same): experiments/results/README.md. The UNet trains with every augmentation.
FROZEN_PREFIXES: tuple[str, ...] = ()
CLASSIFIER_LEAVES_OUT = frozenset({"gamma", "speckle", "blur", "brightness_contrast"})
# An ensemble classifier (issue 31; `classifier_members` > 1): after the shared head phase, one
# fine-tuning per member, each with its own seed (data order, augmentation, dropout), each kept at
# its best validation macro-F1. Independent members disagree where one run's answer is luck;
# snapshots of one run (cosine restarts, Huang et al. 2017) were measured first and agreed too
# often to say so (experiments/results/snapshot_ensemble_retrain). The bundled recipe has one
# member (training.run.MEMBERS says why).


@dataclass(frozen=True)
class FineTuning:
    """What the classifier's fine-tuning leaves frozen and which augmentations it skips
    (the recipe's defaults; `experiments.classifier_recipe` measures the alternatives)."""

    frozen_prefixes: tuple[str, ...] = FROZEN_PREFIXES
    leave_out: frozenset[str] = CLASSIFIER_LEAVES_OUT
    # Batch norms learn ultrasound statistics in the fine-tuning phase too (issue 31, item 5: measured
    # in experiments/results/batch_norms_trained; the recipe keeps ImageNet's).
    train_batch_norms: bool = False


def recipe() -> dict:
    """What run.json and the model card state about the recipe: the architecture constants and
    the augmentations each network trained with."""
    return {**models.recipe(), "unet_augmentations": list(AUGMENTATIONS),
            "classifier_augmentations": [name for name in AUGMENTATIONS if name not in CLASSIFIER_LEAVES_OUT],
            "classifier_members": MEMBERS}


def member_name(stage: str, member: int, members: int) -> str:
    """A fine-tuning's checkpoint name: the stage itself for a single classifier."""
    return f"{stage}_member{member}" if members > 1 else stage


def member_paths(run_dir: Path, stage: str) -> list[Path]:
    """A stage's classifiers: its members' best checkpoints in member order, else its one best checkpoint."""
    members = sorted(run_dir.glob(f"{stage}_member*_best.keras"),
                     key=lambda p: int(p.stem.removesuffix("_best").rsplit("member", 1)[1]))
    return members or [run_dir / f"{stage}_best.keras"]


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
    """Inverse-frequency weights over all sources together, so that benign (the majority)
    does not drown the others and normal (BUSI's alone: BUS-BRA has none) keeps its weight."""
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    return {i: float(len(labels) / (len(CLASS_NAMES) * max(c, 1))) for i, c in enumerate(counts)}


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented batches built on the fly from the training squares."""

    def __init__(self, squares, masks, make_example, seed: int, leave_out: frozenset[str] = frozenset(), **kwargs):
        super().__init__(workers=DATA_WORKERS, **kwargs)
        self.squares, self.masks, self.make_example = squares, masks, make_example
        self.augment = build_augmentation(leave_out)
        self.augment.set_random_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(squares))

    def __len__(self):
        return math.ceil(len(self.squares) / BATCH_SIZE)

    def __getitem__(self, index):
        rows = self.order[index * BATCH_SIZE:(index + 1) * BATCH_SIZE]
        inputs, targets = zip(*(self._example(i) for i in rows), strict=True)
        return np.stack(inputs), np.stack(targets)

    def _example(self, i):
        out = self.augment(image=self.squares[i], mask=self.masks[i].astype(np.uint8))
        return self.make_example(out["image"], out["mask"].astype(bool), i)

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.squares))


def _fit(model, batches, validation, epochs: int, run: TrainingRun, run_dir: Path, name: str, monitor: str,
         **fit_kwargs):
    """fit() with last/best checkpoints and a CSV log; resumes from the last checkpoint.

    Returns the best checkpoint's model (by `monitor` on validation)."""
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
        keras.callbacks.ModelCheckpoint(run_dir / f"{name}_best.keras", monitor=monitor, mode="max",
                                        save_best_only=True),
        keras.callbacks.CSVLogger(log, append=True),
    ]
    start = time.time()
    if initial_epoch < epochs:
        model.fit(batches, validation_data=validation, epochs=epochs, initial_epoch=initial_epoch,
                  callbacks=callbacks, verbose=2, **fit_kwargs)
    run.record_wall_time(run_dir, name, time.time() - start)
    return keras.models.load_model(run_dir / f"{name}_best.keras", compile=False)


def train_models(run: TrainingRun, run_dir: Path, sources: Sequence[Source], stages: Sequence[str]) -> None:
    """The full recipe: the served UNet, the cross-fitted training masks, then each stage's
    classifier, validated on the served UNet's masks of every source's validation split."""
    run.resumed_from(run_dir).save(run_dir)
    train, val = (load_split_data(sources, split, run.settings.square_size) for split in ("train", "val"))
    print(f"train {len(train.labels)} images, val {len(val.labels)}", flush=True)
    unet = train_unet(run, run_dir, "unet", (train.squares, train.square_masks), (val.squares, val.square_masks),
                      run.epochs["unet"])
    val_masks = predict_square_masks(run.settings, keras_runner(unet), val.squares)
    train_masks = cross_fitted_masks(run, run_dir, train, val)
    for stage in stages:
        settings = replace(run.settings, classifier_input="raw") if stage == "baseline" else run.settings
        only = "busi" if stage == "classifier_busi_only" else None
        rows, val_rows = train.where(only), val.where(only)
        val_inputs = np.stack([classifier_input(settings, s, m)
                               for s, m in zip(val.squares[val_rows], val_masks[val_rows], strict=True)])
        train_classifier(run, run_dir, stage, settings, (train.squares[rows], train_masks[rows]), train.labels[rows],
                         (val_inputs, val.labels[val_rows]))


def train_unet(run: TrainingRun, run_dir: Path, name: str, train_set, val_set, epochs: int,
               encoder: str = models.UNET_ENCODER):
    """Train the segmenter on (squares, masks) — all training images: normals teach it to
    stay empty — with checkpoints chosen on the validation (squares, masks)."""
    settings = run.settings
    squares, masks = train_set
    keras.utils.set_random_seed(run.seed)
    model = build_unet(settings, encoder)
    steps = epochs * math.ceil(len(squares) / BATCH_SIZE)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(UNET_LEARNING_RATE, steps)),
        loss=dice_bce_loss,
        metrics=[keras.metrics.BinaryIoU(target_class_ids=[1], name="iou")],
    )
    batches = AugmentedBatches(squares, masks, lambda img, m, i: (unet_input(settings, img), unet_target(settings, m)),
                               run.seed)
    val_inputs = np.stack([unet_input(settings, s) for s in val_set[0]])
    val_targets = np.stack([unet_target(settings, m) for m in val_set[1]])
    return _fit(model, batches, (val_inputs, val_targets), epochs, run, run_dir, name, "val_iou")


def predict_square_masks(settings: InferenceSettings, segmenter: Model, squares: np.ndarray) -> np.ndarray:
    """The served pipeline's lesion masks on the squares (the UNet's map, cleaned as in serving);
    `segmenter` is a pipeline model: `keras_runner(unet)` or the served LiteRT file."""
    pipeline = Pipeline(segmenter, None, settings)
    return np.stack([pipeline.square_lesion_mask(s) for s in squares])


def assign_folds(groups: list[str], labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index per image: whole groups (near-duplicates, a patient's views) in one fold,
    each class spread evenly, so no image is masked by a UNet that saw its twin."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(groups), dtype=int)
    filled = np.zeros((len(CLASS_NAMES), folds))
    unique = sorted(set(groups))
    for g in rng.permutation(len(unique)):
        rows = [i for i, name in enumerate(groups) if name == unique[g]]
        label = int(np.bincount(labels[rows]).argmax())
        target = int(filled[label].argmin())
        fold[rows] = target
        filled[label, target] += len(rows)
    return fold


def cross_fitted_masks(run: TrainingRun, run_dir: Path, train: SplitData, val: SplitData,
                       folds: int = CROSS_FIT_FOLDS) -> np.ndarray:
    """Each training image's mask as predicted by a UNet trained on the other folds.

    The classifier learns from these, never from ground truth: hand-drawn masks encode the
    diagnosis (BUSI's shapes differ by class) and do not look like what serving feeds it.
    Cached in the run folder, so a resumed run does not retrain the fold UNets.
    """
    cache = run_dir / "cross_fitted_masks.npz"
    if cache.exists():
        return np.load(cache)["masks"]
    fold = assign_folds(train.groups, train.labels, folds, run.seed)
    predicted = np.zeros_like(train.square_masks, dtype=bool)
    for k in range(folds):
        held = fold == k
        unet = train_unet(run, run_dir, f"unet_fold{k}", (train.squares[~held], train.square_masks[~held]),
                          (val.squares, val.square_masks), run.epochs["unet_fold"])
        predicted[held] = predict_square_masks(run.settings, keras_runner(unet), train.squares[held])
    np.savez_compressed(cache, masks=predicted, fold=fold)
    return predicted


def _set_backbone_trainable(model: keras.Model, fine_tune: bool, frozen_prefixes: tuple[str, ...],
                            keep_batch_norms: bool = True) -> None:
    """Phase 1 freezes the whole backbone; phase 2 unfreezes it but `frozen_prefixes` and, for
    pretrained weights, the batch norms (a backbone trained from scratch must learn them)."""
    backbone = model.get_layer("backbone")
    backbone.trainable = fine_tune
    if fine_tune:
        for layer in backbone.layers:
            batch_norm = isinstance(layer, layers.BatchNormalization)
            if (keep_batch_norms and batch_norm) or layer.name.startswith(frozen_prefixes):
                layer.trainable = False


def _compile_classifier(model: keras.Model, learning_rate, steps: int) -> None:
    """Adam at `learning_rate`: constant (steps 0) or one cosine decay over `steps`."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps) if steps else learning_rate
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", keras.metrics.F1Score(average="macro", name="macro_f1")],
    )


def train_classifier(run: TrainingRun, run_dir: Path, stage: str, settings: InferenceSettings, train_set,
                     labels: np.ndarray, validation, fine_tuning: FineTuning = FineTuning()) -> list[keras.Model]:
    """Fine-tune classifiers on (scan, cross-fitted UNet mask) pairs in two phases: the new head
    on a frozen backbone (once), then the backbone too at a lower rate, once per member of the
    run's `classifier_members`, each with its own seed and kept at its best validation macro-F1.
    From scratch (`weights="none"`) one phase of `fine_tune` epochs trains everything.
    `validation` is (inputs, labels) built as serving builds them. Returns the members."""
    squares, masks = train_set
    one_hot = keras.utils.to_categorical(labels, len(CLASS_NAMES))

    def batches(seed: int) -> AugmentedBatches:
        return AugmentedBatches(squares, masks, lambda img, m, i: (classifier_input(settings, img, m), one_hot[i]),
                                seed, fine_tuning.leave_out)

    val = (validation[0], keras.utils.to_categorical(validation[1], len(CLASS_NAMES)))
    weights_by_class = class_weights(labels)
    pretrained = settings.weights != "none"  # from scratch, a head on random features learns nothing
    if pretrained:
        keras.utils.set_random_seed(run.seed)
        head = build_classifier(settings)
        _set_backbone_trainable(head, False, fine_tuning.frozen_prefixes)
        _compile_classifier(head, HEAD_LEARNING_RATE, 0)
        _fit(head, batches(run.seed), val, run.epochs["head"], run, run_dir, f"{stage}_head", "val_macro_f1",
             class_weight=weights_by_class)
    members = run.recipe.get("classifier_members", MEMBERS)
    trained = []
    for member in range(members):
        seed = run.seed + member
        keras.utils.set_random_seed(seed)
        model = (keras.models.load_model(run_dir / f"{stage}_head_best.keras", compile=False) if pretrained
                 else build_classifier(settings))
        _set_backbone_trainable(model, True, fine_tuning.frozen_prefixes,
                                keep_batch_norms=pretrained and not fine_tuning.train_batch_norms)
        member_batches = batches(seed)
        _compile_classifier(model, FINE_TUNE_LEARNING_RATE if pretrained else SCRATCH_LEARNING_RATE,
                            run.epochs["fine_tune"] * len(member_batches))
        trained.append(_fit(model, member_batches, val, run.epochs["fine_tune"], run, run_dir,
                            member_name(stage, member, members), "val_macro_f1", class_weight=weights_by_class))
    return trained
