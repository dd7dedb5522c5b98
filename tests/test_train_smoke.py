"""train -> export -> load -> predict, end to end through the CLI on a tiny synthetic tree."""
import json

import numpy as np
import pytest
from PIL import Image

from synthetic_busi import make_tree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from training.__main__ import main

    root = tmp_path_factory.mktemp("smoke")
    tree = make_tree(root / "busi", per_class=6)
    common = ["--data", str(tree), "--manifest", str(root / "manifest.json"), "--run-dir", str(root / "run"),
              "--models", str(root / "models"), "--report-dir", str(root / "report")]
    main(["split", *common, "--seed", "1"])
    main(["train", *common, "--unet-epochs", "1", "--classifier-epochs", "1"])
    main(["export", *common])
    main(["evaluate", *common])
    return root, tree


def test_export_writes_models_and_a_consistent_card(exported):
    import hashlib

    root, _ = exported
    card = json.loads((root / "models" / "model_card.json").read_text())
    for name, facts in card["files"].items():
        assert hashlib.sha256((root / "models" / name).read_bytes()).hexdigest() == facts["sha256"]
    assert card["calibration"]["temperature"] > 0
    assert card["training_wall_time_minutes"]["unet"] >= 0
    assert 0.2 <= card["decision"]["malignant_threshold"] <= 1.0
    # the served LiteRT models compute what the Keras models they came from compute
    assert card["litert_vs_keras"]["unet_same_input_max_probability_difference"] < 1e-3
    assert card["litert_vs_keras"]["classifier_same_input_max_probability_difference"] < 1e-3


def test_exported_pipeline_predicts(exported):
    from inference.pipeline import Pipeline

    root, tree = exported
    pipeline = Pipeline.load(root / "models")
    with Image.open(tree / "malignant" / "malignant (1).png") as image:
        prediction = pipeline.predict(image)
        size = image.size
    assert prediction.label in ("benign", "malignant", "normal")
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert prediction.mask.shape == (size[1], size[0]) and prediction.mask.dtype == bool


def test_evaluate_writes_the_report(exported):
    root, _ = exported
    report = (root / "report" / "README.md").read_text()
    assert "86.39%" in report and "Dice" in report
    for plot in ("confusion.png", "roc.png", "reliability.png", "overlays.png"):
        assert (root / "report" / plot).stat().st_size > 1000
    metrics = json.loads((root / "report" / "metrics_test.json").read_text())
    assert 0 <= metrics["classification"]["accuracy"] <= 1
    missed = metrics["lesion_mask_removed"]
    per_class = metrics["classification"]["per_class"]
    assert missed["lesion_scans"] == per_class["benign"]["support"] + per_class["malignant"]["support"]
    assert "When the UNet misses the lesion" in report
    assert "leans on the UNet's mask" in (root / "models" / "README.md").read_text()


def test_training_resumes_and_checkpoints_what_validation_scored(tmp_path):
    """A stopped run picks up at its next epoch, and the saved model is the one validation scored.

    Shown on the UNet (cheap); the classifier goes through the same checkpointing loop.
    """
    import csv

    import keras

    from inference.preprocessing import unet_input
    from inference.settings import InferenceSettings
    from training import train
    from training.data import Squares
    from training.run import TrainingRun

    settings = InferenceSettings()
    rng = np.random.default_rng(0)
    size = settings.square_size
    squares = rng.integers(0, 256, (4, size, size), dtype=np.uint8)
    masks = np.zeros(squares.shape, dtype=bool)
    masks[:, 96:160, 96:160] = True
    scans = Squares(squares, masks, np.zeros(4, dtype=int))

    for epochs in (1, 2):
        run = TrainingRun(settings, data={}, seed=0, epochs={"unet": epochs}).resumed_from(tmp_path)
        train.train_unet(run, tmp_path, scans, scans)

    with (tmp_path / "unet_log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    saved = keras.models.load_model(tmp_path / "unet_last.keras", custom_objects={"dice_bce_loss": train.dice_bce_loss})
    targets = np.stack([train.unet_target(settings, m) for m in masks])
    inputs = np.stack([unet_input(settings, s) for s in squares])
    loss = saved.evaluate(inputs, targets, verbose=0)[0]
    assert loss == pytest.approx(float(rows[-1]["val_loss"]), rel=1e-4)
