"""Cross-fitted training masks: no image is masked by a UNet that saw it or its twins."""
from dataclasses import replace

import numpy as np
import pytest

from inference.settings import InferenceSettings
from tests.helpers.splits import split_data
from training import train
from training.run import TrainingRun

pytestmark = pytest.mark.slow  # trains tiny UNets (and training.train imports TensorFlow)

SETTINGS = InferenceSettings()
MODEL_SIZE = SETTINGS.square_size


def tiny_run(**epochs) -> TrainingRun:
    return TrainingRun(SETTINGS, data={}, seed=0, epochs=epochs)


def test_folds_keep_groups_together_and_spread_each_class():
    groups = [f"g{i // 2}" for i in range(40)]  # pairs of views
    labels = np.array([(i // 2) % 3 for i in range(40)])
    fold = train.assign_folds(groups, labels, 2, seed=0)
    for g in set(groups):
        assert len({fold[i] for i, name in enumerate(groups) if name == g}) == 1
    for label in range(3):
        counts = np.bincount(fold[labels == label], minlength=2)
        assert abs(counts[0] - counts[1]) <= 2


def test_each_mask_comes_from_the_unet_that_did_not_train_on_it(tmp_path, monkeypatch):
    """Fake UNets remember their training images; each 'predicts' a lesion exactly on
    those, so any mask that comes back non-empty was made by a UNet that saw its image."""
    count = 12
    squares = np.stack([np.full((MODEL_SIZE, MODEL_SIZE), i, np.uint8) for i in range(count)])
    masks = np.zeros(squares.shape, dtype=bool)
    trained_on = []

    def fake_train_unet(run, run_dir, name, train_set, val_set, epochs):
        trained_on.append({int(s[0, 0]) for s in train_set[0]})
        return trained_on[-1]

    def fake_predict(settings, seen, held_squares):
        return np.stack([np.full(s.shape, int(s[0, 0]) in seen) for s in held_squares])

    monkeypatch.setattr(train, "train_unet", fake_train_unet)
    monkeypatch.setattr(train, "keras_runner", lambda unet: unet)  # the fake UNet is its own runner
    monkeypatch.setattr(train, "predict_square_masks", fake_predict)
    groups = [f"g{i // 3}" for i in range(count)]
    labels = np.array([(i // 3) % 2 for i in range(count)])
    scans = split_data(squares, masks, groups, labels)
    predicted = train.cross_fitted_masks(tiny_run(unet_fold=1), tmp_path, scans, scans, folds=2)
    assert predicted.shape == masks.shape and not predicted.any()
    # two folds: each UNet trained on the other half, together covering every image
    assert len(trained_on) == 2 and not trained_on[0] & trained_on[1]
    assert trained_on[0] | trained_on[1] == set(range(count))
    # cached: a resumed run reuses the masks instead of training the fold UNets again
    again = train.cross_fitted_masks(tiny_run(unet_fold=1), tmp_path, scans, scans, folds=2)
    assert len(trained_on) == 2 and np.array_equal(again, predicted)


def test_cross_fitting_trains_real_fold_unets_on_tiny_data(tmp_path):
    """The real UNet (random init, one epoch) on 8 synthetic scans: masks of the right shape."""
    rng = np.random.default_rng(0)
    squares = rng.integers(0, 256, (8, MODEL_SIZE, MODEL_SIZE), dtype=np.uint8)
    masks = np.zeros(squares.shape, dtype=bool)
    masks[:, 96:160, 96:160] = True
    labels = np.array([0, 1] * 4)
    scans = split_data(squares, masks, [f"g{i}" for i in range(8)], labels)
    run = TrainingRun(replace(SETTINGS, weights="none"), data={}, seed=0, epochs={"unet_fold": 1})
    validation = split_data(squares[:2], masks[:2], ["a", "b"], labels[:2])
    predicted = train.cross_fitted_masks(run, tmp_path, scans, validation)
    assert predicted.shape == masks.shape and predicted.dtype == bool
    folds = np.load(tmp_path / "cross_fitted_masks.npz")["fold"]
    assert sorted(np.bincount(folds)) == [4, 4]
    assert (tmp_path / "unet_fold0_best.keras").exists() and (tmp_path / "unet_fold1_best.keras").exists()


def test_rows_of_one_source_or_of_all():
    squares = np.zeros((3, 4, 4), np.uint8)
    split = replace(split_data(squares, squares > 0, ["a", "b", "c"], np.array([0, 1, 2])),
                    sources=["busi", "busbra", "busi"])
    assert split.where("busi").tolist() == [True, False, True]
    assert split.where("busbra").tolist() == [False, True, False]
    assert split.where(None).tolist() == [True, True, True]
