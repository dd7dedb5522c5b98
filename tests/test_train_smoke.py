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
    from app.pipeline import Pipeline

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
