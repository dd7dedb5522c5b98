"""What the served app answers on real scans must not change when its code is reorganised.

Three checks, from the strictest to the one that outlives a retrain:
- the exact answers recorded on validation scans (valid for one models version only);
- an independent re-assembly of the pipeline's steps, straight from the LiteRT files and the
  card, that the served answers must match whatever models are bundled;
- the labels of the clearest validation scans, which any retrained model should keep.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

from inference.paths import MODELS_DIR as MODELS
from scripts.record_fixtures import OUTPUTS, PINNED, mask_sha256, served_answers
from tests.helpers import SCANS, require_busi

ROUNDING = 5e-5 + 1e-9  # the API gives probabilities to 4 decimals (half a unit of the last digit)


def bundled_card() -> dict:
    return json.loads((MODELS / "model_card.json").read_text())


def test_served_answers_match_the_recording(client):
    data = require_busi()
    recorded = json.loads(OUTPUTS.read_text())
    version = bundled_card()["version"]
    if recorded["models_version"] != version:
        pytest.fail(f"{OUTPUTS.name} was recorded on models {recorded['models_version']}, but {version} is "
                    "bundled: the models changed, so re-record it with "
                    "`python -m scripts.record_fixtures outputs` in the same commit")
    answers = served_answers(client, data, [scan["key"] for scan in recorded["scans"]])
    for scan in recorded["scans"]:
        answer = answers[scan["key"]]
        assert answer["label"] == scan["label"], scan["key"]
        assert answer["probabilities"] == pytest.approx(scan["probabilities"], abs=ROUNDING), scan["key"]
        assert mask_sha256(answer["mask_png"]) == scan["mask_sha256"], scan["key"]


def test_clearest_validation_scans_keep_their_labels(client):
    data = require_busi()
    pinned = json.loads(PINNED.read_text())
    answers = served_answers(client, data, [scan["key"] for scan in pinned["scans"]])
    for scan in pinned["scans"]:
        answer = answers[scan["key"]]
        assert answer["label"] == scan["label"], scan["key"]
        assert answer["probabilities"][scan["label"]] == pytest.approx(scan["probability"], abs=pinned["tolerance"])


def _run(model_path: Path, batch: np.ndarray) -> np.ndarray:
    interpreter = Interpreter(model_path=str(model_path), num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.ascontiguousarray(batch, np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def reassembled(path: Path, card: dict) -> tuple[str, np.ndarray, np.ndarray]:
    """Label, probabilities and shown mask for an 8-bit upright scan, written out step by step
    as the model card describes them, without the app's code."""
    sizes, classes = card["input"], card["classes"]
    gray = np.asarray(Image.open(path).convert("L"))
    height, width = gray.shape
    side = sizes["square"]
    shrink = min(gray.shape) >= side
    square = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    assert sizes["unet_kind"] == "gray_pixels" and sizes["classifier_kind"] == "two_view", "re-write for this recipe"
    small = cv2.resize(square, (sizes["unet"], sizes["unet"]), interpolation=cv2.INTER_AREA).astype(np.float32)
    probability = cv2.resize(_run(MODELS / "unet.tflite", small[None, ..., None])[..., 0], (side, side),
                             interpolation=cv2.INTER_LINEAR)
    count, blob_of, _, _ = cv2.connectedComponentsWithStats((probability > 0.5).astype(np.uint8), connectivity=8)
    kept = np.zeros_like(probability)
    for blob in range(1, count):
        pixels = blob_of == blob
        if pixels.sum() >= 0.0025 * side * side and probability[pixels].astype(np.float64).mean() >= 0.75:
            kept[pixels] = probability[pixels]
    mask = cv2.resize(kept, (width, height), interpolation=cv2.INTER_LINEAR) > 0.5

    lesion_view = _lesion_view(square, kept > 0.5)
    inputs = np.dstack([_resize(square, sizes["classifier"]), _resize(lesion_view, sizes["classifier"])])[None]
    logits = np.atleast_2d(_run(MODELS / "classifier.tflite", inputs))  # one row per ensemble member
    malignant, threshold = classes.index("malignant"), card["decision"]["malignant_threshold"]
    if card["inference"]["flip_average"]:
        # the mirrored input is averaged in only when the first pass is near a decision
        first, margin = _calibrated(logits, card), card["inference"]["mirror_margin"]
        second_best, best = sorted(first)[-2:]
        if abs(first[malignant] - threshold) <= margin or best - second_best <= margin:
            logits = (logits + np.atleast_2d(_run(MODELS / "classifier.tflite", inputs[:, :, ::-1]))) / 2
    probabilities = _calibrated(logits, card)
    label = classes[malignant if probabilities[malignant] >= threshold else int(probabilities.argmax())]
    # normal needs enough probability and at most so much outlined, else the likelier lesion class
    decision, benign = card["decision"], classes.index("benign")
    if label == "normal" and (probabilities[classes.index("normal")] < decision["normal_min_probability"]
                              or (kept > 0.5).mean() > decision["normal_max_outline"]):
        label = classes[malignant if probabilities[malignant] > probabilities[benign] else benign]
    return label, probabilities, mask & (label != "normal")


def _calibrated(logits: np.ndarray, card: dict) -> np.ndarray:
    """Each member's temperature-scaled softmax, averaged over the members."""
    scaled = np.atleast_2d(logits).astype(np.float64) / card["calibration"]["temperature"]
    exp = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return (exp / exp.sum(axis=1, keepdims=True)).mean(axis=0)


def _resize(image: np.ndarray, side: int) -> np.ndarray:
    shrink = image.shape[0] >= side
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (side, side), interpolation=interpolation).astype(np.float32)


def _lesion_view(square: np.ndarray, lesion: np.ndarray) -> np.ndarray:
    """Twice the lesion's bounding box (at least 64 px), centred, moved inside the square; all of it if no lesion."""
    if not lesion.any():
        return square
    rows, cols = np.nonzero(lesion)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    side = min(len(square), max(64, round(2 * max(height, width))))
    top = min(max(round((rows.min() + rows.max() + 1) / 2 - side / 2), 0), len(square) - side)
    left = min(max(round((cols.min() + cols.max() + 1) / 2 - side / 2), 0), len(square) - side)
    return square[top:top + side, left:left + side]


@pytest.mark.parametrize("kind", sorted(SCANS))
def test_served_answer_matches_an_independent_reassembly(post_api, kind):
    card = bundled_card()
    label, probabilities, mask = reassembled(SCANS[kind], card)
    answer = post_api(SCANS[kind].read_bytes()).get_json()
    assert answer["label"] == label
    assert [answer["probabilities"][name] for name in card["classes"]] == pytest.approx(probabilities, abs=ROUNDING)
    with Image.open(io.BytesIO(base64.b64decode(answer["mask_png"]))) as served_mask:
        assert np.array_equal(np.asarray(served_mask) > 0, mask)
