"""The bundled models: card matches files, real BUSI images predict, CLI contract."""
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import FIXTURES
from inference.paths import MODELS_DIR, REPO_ROOT as REPO
from inference.pipeline import Pipeline


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


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "app.predict", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_contract(tmp_path):
    scan = real_scans()[0]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = run_cli(scan, broken, "--masks-dir", tmp_path / "masks")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(scan), str(broken)]
    good, bad = records
    assert set(good) == {"file", "label", "most_likely", "malignant_flagged", "probabilities"}
    assert set(good["probabilities"]) == {"benign", "malignant", "normal"}
    assert set(bad) == {"file", "error"}
    mask = np.asarray(Image.open(tmp_path / "masks" / f"{scan.stem}_pred.png"))
    assert mask.shape == np.asarray(Image.open(scan).convert("L")).shape
    assert set(np.unique(mask)) <= {0, 255}


def test_cli_agrees_with_the_pipeline(pipeline):
    scan = real_scans()[0]
    record = json.loads(run_cli(scan).stdout.splitlines()[0])
    with Image.open(scan) as image:
        expected = pipeline.predict(image)
    assert record["label"] == expected.label
    assert (record["most_likely"], record["malignant_flagged"]) == (
        expected.decision.most_probable, expected.decision.malignant_flagged)
    for name, p in expected.probabilities.items():
        assert record["probabilities"][name] == pytest.approx(p, abs=1e-6)


def test_model_card_and_reports_are_rendered_from_their_json():
    """The committed Markdown is what the templates make of the committed JSON (nothing hand-edited)."""
    from training import card as model_card

    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    assert (MODELS_DIR / "README.md").read_text() == model_card.render(card)
    for report_dir, split in ((REPO / "reports", "test"), (REPO / "reports" / "val", "val")):
        results = json.loads((report_dir / f"metrics_{split}.json").read_text())
        assert (report_dir / "README.md").read_text() == model_card.render_report(results, card)
