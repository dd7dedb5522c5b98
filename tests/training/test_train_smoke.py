"""split -> train -> export -> evaluate -> predict, end to end through the CLI on two tiny
synthetic data sets (BUSI's and BUS-BRA's layouts)."""
import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers.synthetic_busi import make_busbra_tree, make_tree

pytestmark = pytest.mark.slow
# A validation comparison an earlier card recorded (python -m training record-choice).
EARLIER_CHOICE = {"question": "Which input?", "chosen": "two views", "why": "Best on validation.",
                  "recipes": {"two views": {"folder": "f", "seeds": ["1"],
                                            "metrics": {"busi": {"accuracy": [0.5, 0.0]}}}}}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from training.__main__ import main

    root = tmp_path_factory.mktemp("smoke")
    tree = make_tree(root / "busi", per_class=6)
    busbra = make_busbra_tree(root / "busbra", cases=10)
    common = ["--data", str(tree), str(busbra), "--manifest-dir", str(root), "--run-dir", str(root / "run"),
              "--models", str(root / "models"), "--report-dir", str(root / "report")]
    main(["split", *common, "--seed", "1"])
    # two fine-tuning epochs in two one-epoch cycles: a two-member ensemble
    main(["train", *common, "--epochs", "unet=1,unet_fold=1,head=1,fine_tune=2", "--members", "2",
          "--stages", "classifier", "classifier_busi_only"])
    (root / "models").mkdir()
    (root / "models" / "model_card.json").write_text(json.dumps({"design_choices": [EARLIER_CHOICE]}))
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
    # the replaced card's design choices stay, and the Markdown card shows them
    assert card["design_choices"] == [EARLIER_CHOICE]
    assert "**Which input?** Chosen: two views. Best on validation." in (root / "models" / "README.md").read_text()


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


@pytest.mark.parametrize("source", ["busi", "busbra"])
def test_evaluate_writes_a_report_per_source(exported, source):
    root, _ = exported
    folder = root / "report" / source
    report = (folder / "README.md").read_text()
    assert "Dice" in report and "lesions called normal" in report
    for plot in ("confusion.png", "roc.png", "reliability.png", "overlays.png"):
        assert (folder / plot).stat().st_size > 1000
    metrics = json.loads((folder / "metrics_test.json").read_text())
    assert metrics["source"] == source and 0 <= metrics["classification"]["accuracy"] <= 1
    missed = metrics["lesion_mask_removed"]
    per_class = metrics["classification"]["per_class"]
    assert missed["lesion_scans"] == per_class["benign"]["support"] + per_class["malignant"]["support"]
    assert metrics["baseline_raw_images"] is None  # not trained in this run
    if source == "busi":
        assert metrics["trained_on_busi_alone"]["n"] == metrics["classification"]["n"]
    assert 0 <= metrics["caveats"]["with_caveat"] <= 1 and len(metrics["ensemble_members"]["members"]) == 2
    card = json.loads((root / "models" / "model_card.json").read_text())
    assert card["metrics"][f"{source}_test"]["classification"] == metrics["classification"]


def test_export_serves_an_ensemble_in_the_precision_validation_chose(exported):
    root, _ = exported
    card = json.loads((root / "models" / "model_card.json").read_text())
    assert card["ensemble"]["members"] == 2
    for network in ("unet", "classifier"):
        served = card["precision"]["comparison_on_validation"][network]["int8_served"]
        assert card["precision"][network] == ("int8" if served else "float32")
    assert set(card["ensemble"]["leave_a_source_out"]["figures"]) == {"busi", "busbra"}
    decision = card["decision"]
    assert 0 <= decision["normal_min_probability"] <= 1 and 0 <= decision["normal_max_outline"] <= 1
    assert decision["uncertain_below"] in [row["uncertain_below"] for row in decision["uncertain_levels_on_validation"]]
    readme = (root / "models" / "README.md").read_text()
    assert "## Ensemble, caveats and precision" in readme and "Leave a source out" in readme


def test_training_resumes_and_checkpoints_what_validation_scored(tmp_path):
    """A stopped run picks up at its next epoch, and the saved model is the one validation scored.

    Shown on the UNet (cheap); the classifier goes through the same checkpointing loop.
    """
    import csv

    import keras

    from inference.preprocessing import unet_input
    from inference.settings import InferenceSettings
    from training import train
    from training.run import TrainingRun

    settings = InferenceSettings()
    rng = np.random.default_rng(0)
    size = settings.square_size
    squares = rng.integers(0, 256, (4, size, size), dtype=np.uint8)
    masks = np.zeros(squares.shape, dtype=bool)
    masks[:, 96:160, 96:160] = True
    for epochs in (1, 2):
        run = TrainingRun(settings, data={}, seed=0, epochs={"unet": epochs}).resumed_from(tmp_path)
        train.train_unet(run, tmp_path, "unet", (squares, masks), (squares, masks), epochs)

    with (tmp_path / "unet_log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    saved = keras.models.load_model(tmp_path / "unet_last.keras", custom_objects={"dice_bce_loss": train.dice_bce_loss})
    targets = np.stack([train.unet_target(settings, m) for m in masks])
    inputs = np.stack([unet_input(settings, s) for s in squares])
    loss = saved.evaluate(inputs, targets, verbose=0)[0]
    assert loss == pytest.approx(float(rows[-1]["val_loss"]), rel=1e-4)
