"""The learned input check: photos and screenshots refused, real scans of every source accepted,
the card section required, the served LiteRT features equal to the Keras model's."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.input_check import (
    ACCEPTED,
    REFUSED,
    UNFAMILIAR,
    InputCheck,
    InputCheckSettings,
    Reference,
    check_input,
    verdict_for,
)
from inference.paths import MODELS_DIR
from inference.settings import ModelCardError
from tests.helpers import SCANS, require_busbra, require_busi
from tests.helpers.uploads import encode
from training.sources import manifest_path

BUSBRA_SCANS = ("bus_0001-l.png", "bus_0100-r.png", "bus_0500-l.png")
GRACE_HOPPER = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"
NOT_ULTRASOUND = "does not look like a breast ultrasound image"


def dark_text_screenshot() -> Image.Image:
    from training.input_check.non_ultrasound import text_page

    return text_page(dark=True)


@pytest.fixture(scope="module")
def check() -> InputCheck:
    return InputCheck.load(MODELS_DIR)


# --- the served check on real inputs ---------------------------------------------------------

def test_grace_hopper_photo_is_refused_with_422(post_api):
    response = post_api(GRACE_HOPPER.read_bytes(), "grace_hopper.jpg")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_ultrasound"
    assert NOT_ULTRASOUND in response.get_json()["error"]["message"]


def test_grace_hopper_in_grey_is_refused_too(post_api):
    with Image.open(GRACE_HOPPER) as photo:
        response = post_api(encode(photo.convert("L")))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "not_ultrasound"


def test_dark_text_screenshot_is_refused_with_422(post_api):
    response = post_api(encode(dark_text_screenshot()))
    assert response.status_code == 422
    assert NOT_ULTRASOUND in response.get_json()["error"]["message"]


def test_page_refuses_with_the_same_message(submit_form):
    response = submit_form(GRACE_HOPPER.read_bytes(), "p.jpg")
    assert response.status_code == 422
    assert NOT_ULTRASOUND in response.get_data(as_text=True)


@pytest.mark.parametrize("name", sorted(SCANS))
def test_development_busi_scans_are_accepted(post_api, name):
    response = post_api(SCANS[name].read_bytes())
    assert response.status_code == 200, response.get_json()
    check = response.get_json()["input_check"]
    assert check["verdict"] == ACCEPTED
    assert check["score"] == round(check["score"], 4) and check["score"] > 0


@pytest.mark.parametrize("name", BUSBRA_SCANS)
def test_busbra_scans_are_accepted(check, name):
    with Image.open(require_busbra() / "Images" / name) as image:
        verdict = check.check(image)
    assert verdict.verdict == ACCEPTED, verdict


def test_held_out_busi_scans_are_not_refused_and_score_below_a_photo(check):
    """Ten test-split BUSI scans (never fitted on) are answered; a photo scores far above them."""
    root = require_busi()
    manifest = json.loads(manifest_path("busi").read_text())
    keys = [r["key"] for r in manifest["images"] if r["split"] == "test"][:10]
    scores = []
    for key in keys:
        with Image.open(root / key) as image:
            verdict = check.check(image)
        assert not verdict.refused, (key, verdict)
        scores.append(verdict.score)
    with Image.open(GRACE_HOPPER) as photo:
        assert check.check(photo).score > check.settings.refuse_above > max(scores)


def test_blank_and_noise_images_are_refused(check):
    rng = np.random.default_rng(0)
    for array in (np.zeros((300, 400)), np.full((300, 400), 255), rng.uniform(0, 255, (300, 400))):
        assert check.check(Image.fromarray(array.astype(np.uint8))).refused


def test_unfamiliar_scans_are_answered_and_flagged(app, post_api, submit_form, monkeypatch):
    """Between the thresholds: answered, with the verdict in the API and the warning on the page."""
    import dataclasses

    check = app.extensions["input_check"]
    score = check.check(Image.open(SCANS["malignant"])).score
    lowered = dataclasses.replace(check.settings, unfamiliar_above=score / 2, refuse_above=score * 2)
    monkeypatch.setattr(check, "settings", lowered)
    response = post_api(SCANS["malignant"].read_bytes())
    assert response.status_code == 200
    assert response.get_json()["input_check"]["verdict"] == UNFAMILIAR
    html = submit_form(SCANS["malignant"].read_bytes()).get_data(as_text=True)
    assert 'id="unfamiliar-note"' in html and "unlike those the model learnt from" in html


# --- the batch CLI -----------------------------------------------------------------------------

def test_cli_reports_the_check_and_does_not_score_refused_inputs(tmp_path, capsys):
    from inference.predict import main

    photo = tmp_path / "photo.png"
    dark_text_screenshot().save(photo)
    assert main([str(SCANS["benign"]), str(photo)]) == 1  # one input failed, the other was scored
    scan_record, photo_record = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert scan_record["input_check"]["verdict"] == ACCEPTED and "label" in scan_record
    assert photo_record["error"]["code"] == "not_ultrasound" and "label" not in photo_record


def test_serving_the_check_needs_no_training_requirements():
    """The check loads and runs with TensorFlow, Keras and scikit-learn blocked (serving has none)."""
    import subprocess
    import sys

    from inference.paths import REPO_ROOT

    code = ("import sys\n"
            "sys.modules.update(dict.fromkeys(('tensorflow', 'keras', 'sklearn', 'scipy', 'matplotlib')))\n"
            "import numpy as np\n"
            "from inference.input_check import InputCheck\n"
            "print(InputCheck.load().check_gray(np.zeros((300, 400), np.uint8)).verdict)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REFUSED


# --- the card and the reference ----------------------------------------------------------------

def test_card_without_the_section_is_a_clear_error(tmp_path):
    for name in ("model_card.json", "input_check.tflite", "input_check.npz"):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    card = json.loads((tmp_path / "model_card.json").read_text())
    del card["input_check"]
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelCardError, match="python -m training input-check"):
        InputCheck.load(tmp_path)


def test_card_missing_a_field_or_with_swapped_thresholds_is_refused():
    section = json.loads((MODELS_DIR / "model_card.json").read_text())["input_check"]
    assert InputCheckSettings.from_card({"input_check": section}).refuse_above == section["refuse_above"]
    with pytest.raises(ModelCardError, match="input_check.refuse_above"):
        InputCheckSettings.from_card({"input_check": {k: v for k, v in section.items() if k != "refuse_above"}})
    swapped = section | {"unfamiliar_above": section["refuse_above"] + 1}
    with pytest.raises(ModelCardError, match="thresholds"):
        InputCheckSettings.from_card({"input_check": swapped})


def test_a_feature_file_other_than_the_fitted_one_is_refused(tmp_path):
    for name in ("model_card.json", "input_check.npz"):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    data = bytearray((MODELS_DIR / "input_check.tflite").read_bytes())
    data[-1] ^= 1
    (tmp_path / "input_check.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelCardError, match="checksum"):
        InputCheck.load(tmp_path)


def test_verdicts_follow_the_thresholds():
    section = json.loads((MODELS_DIR / "model_card.json").read_text())["input_check"]
    settings = InputCheckSettings.from_card({"input_check": section})
    assert verdict_for(settings.unfamiliar_above, settings) == ACCEPTED
    assert verdict_for(np.nextafter(settings.unfamiliar_above, np.inf), settings) == UNFAMILIAR
    assert verdict_for(settings.refuse_above, settings) == UNFAMILIAR
    assert verdict_for(settings.refuse_above + 1e-6, settings) == REFUSED


def test_score_is_the_mean_cosine_distance_to_the_nearest_training_scans():
    rng = np.random.default_rng(1)
    train, x = rng.normal(size=(30, 8)), rng.normal(size=(4, 8))
    reference = Reference.fit(train, neighbours=3)
    unit = lambda a: a / np.linalg.norm(a, axis=-1, keepdims=True)  # noqa: E731
    expected = [np.mean(sorted(1 - unit(train) @ unit(row))[:3]) for row in x]
    np.testing.assert_allclose(reference.scores(x), expected, atol=2e-3)  # float16 storage
    np.testing.assert_allclose(reference.scores(x * 7.0), reference.scores(x), atol=1e-6)  # scale does not matter


def test_check_input_is_the_pipeline_square_in_three_grey_channels():
    gray = (np.arange(300 * 500) % 251).astype(np.uint8).reshape(300, 500)
    x = check_input(gray)
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    assert np.array_equal(x[..., 0], x[..., 2]) and 0 <= x.min() and x.max() <= 255


# --- LiteRT file vs the Keras model it was exported from --------------------------------------

@pytest.mark.slow
def test_litert_features_agree_with_keras():
    pytest.importorskip("tensorflow")
    from inference.pipeline import LiteRTModel
    from training.input_check.fit import build_feature_model

    with Image.open(SCANS["benign"]) as image:
        x = check_input(np.asarray(image.convert("L")))[None]
    keras_features = build_feature_model()(x, training=False).numpy()[0]
    litert_features = LiteRTModel(MODELS_DIR / "input_check.tflite", 1)(x)
    check = InputCheck.load(MODELS_DIR)
    card = json.loads((MODELS_DIR / "model_card.json").read_text())["input_check"]
    if card.get("precision") == "int8":
        # int8 features point where the float ones do (measured 0.96-0.98 on the fixture scans); the
        # reference was fitted on the int8 features themselves, so the served scores are consistent
        cosine = keras_features @ litert_features / np.linalg.norm(keras_features) / np.linalg.norm(litert_features)
        assert cosine > 0.95
        return
    np.testing.assert_allclose(litert_features, keras_features, atol=0.05 * np.abs(keras_features).max())
    scores = check.reference.scores(np.stack([keras_features, litert_features]))
    assert abs(scores[0] - scores[1]) < 0.02 * check.settings.unfamiliar_above


def test_thresholds_come_from_every_sources_validation_scores_with_a_margin_for_refusal():
    """Hand-computed: no validation scan of either source may be refused (at most 1% of 4 or 2
    scans is none), so the refusal line is the margin times the highest score of all."""
    from training.input_check.fit import UNSEEN_SCANNER_MARGIN, choose_thresholds

    unfamiliar, refuse = choose_thresholds({"a": np.array([0.1, 0.2, 0.3, 0.4]), "b": np.array([0.2, 0.5])})
    assert refuse == pytest.approx(UNSEEN_SCANNER_MARGIN * 0.5)
    assert unfamiliar == pytest.approx(0.2 + 0.975 * 0.3)  # source b's 97.5th percentile, the larger


def test_int8_features_serve_only_when_they_refuse_as_well():
    from training.input_check.fit import FittedCheck, int8_refuses_as_well

    def fitted(refused_images, val_scores):
        return FittedCheck(Path("f.tflite"), {}, None, {"busi": np.array(val_scores)}, 0.3, 0.4,
                           np.array(refused_images))

    float16 = fitted([True, True, False], [0.1, 0.2])
    assert int8_refuses_as_well(float16, fitted([True, True, True], [0.1, 0.2]))  # refusing more images is fine
    assert not int8_refuses_as_well(float16, fitted([True, False, True], [0.1, 0.2]))  # one let through
    assert not int8_refuses_as_well(float16, fitted([True, True, False], [0.1, 0.45]))  # a real scan refused
