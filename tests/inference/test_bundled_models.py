"""The bundled models: card matches files, real BUSI images predict (the CLI: test_predict_cli.py)."""
import hashlib
import json

import pytest
from PIL import Image

from inference.paths import MODELS_DIR
from inference.paths import REPO_ROOT as REPO
from inference.pipeline import Pipeline
from tests.helpers import FIXTURES


def real_scans():
    return sorted(p for p in FIXTURES.glob("*.png") if "_mask" not in p.name)


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline.load()


def test_card_checksums_match_the_files():
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    assert set(card["files"]) == {"unet.tflite", "classifier.tflite"}
    for name, facts in card["files"].items():
        assert hashlib.sha256((MODELS_DIR / name).read_bytes()).hexdigest() == facts["sha256"], name


def test_real_busi_images_predict(pipeline):
    scans = real_scans()
    assert scans, "tests/fixtures holds real BUSI scans"
    for path in scans:
        with Image.open(path) as image:
            prediction = pipeline.predict(image)
            width, height = image.size
        assert prediction.label in ("benign", "malignant", "normal")
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
        assert prediction.mask.shape == (height, width)


def test_model_card_and_reports_are_rendered_from_their_json():
    """The committed Markdown is what the templates make of the committed JSON (nothing hand-edited)."""
    from training import card as model_card

    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    assert (MODELS_DIR / "README.md").read_text() == model_card.render(card)
    folders = [(REPO / "reports" / source, "test") for source in card["data"]]
    folders += [(REPO / "reports" / "val" / source, "val") for source in card["data"]]
    for report_dir, split in folders:
        results = json.loads((report_dir / f"metrics_{split}.json").read_text())
        assert results == card["metrics"][f"{results['source']}_{split}"]
        assert (report_dir / "README.md").read_text() == model_card.render_report(results, card)
