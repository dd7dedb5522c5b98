"""The pipeline's own logic with fake models: shown mask, temperature, threshold, mirror
averaging, and the settings' round trip through the model card."""
from __future__ import annotations

import json

import numpy as np
import pytest

from inference.paths import MODELS_DIR
from inference.pipeline import Pipeline
from inference.settings import InferenceSettings, ModelCardError

SETTINGS = InferenceSettings(temperature=1.0, malignant_threshold=1.0, flip_average=False)


def lesion_segmenter(batch):
    """A confident square blob in the middle of the UNet's frame, whatever the scan."""
    size = batch.shape[1]
    probability = np.zeros((size, size, 1), np.float32)
    probability[size // 4:size // 2, size // 4:size // 2] = 0.95
    return probability


def constant_classifier(logits):
    return lambda batch: np.array(logits, dtype=np.float64)


SCAN = np.full((300, 400), 90, np.uint8)


def test_normal_answer_hides_the_outline_but_keeps_the_segmentation():
    prediction = Pipeline(lesion_segmenter, constant_classifier([0.0, 0.0, 3.0]), SETTINGS).predict_gray(SCAN)
    assert prediction.label == "normal"
    assert prediction.segmentation.shape == SCAN.shape and prediction.segmentation.any()
    assert not prediction.mask.any()
    # the blob covers the square's second quarter on each side, hence the scan's too
    assert prediction.segmentation[:, 100:200].any() and not prediction.segmentation[:, 210:].any()

    benign = Pipeline(lesion_segmenter, constant_classifier([3.0, 0.0, 0.0]), SETTINGS).predict_gray(SCAN)
    assert benign.label == "benign" and np.array_equal(benign.mask, benign.segmentation)


def test_probabilities_are_the_temperature_scaled_softmax():
    logits = [2.0, 1.0, 0.0]
    settings = InferenceSettings(temperature=2.0, malignant_threshold=1.0, flip_average=False)
    prediction = Pipeline(lesion_segmenter, constant_classifier(logits), settings).predict_gray(SCAN)
    expected = np.exp([1.0, 0.5, 0.0]) / np.exp([1.0, 0.5, 0.0]).sum()
    assert list(prediction.probabilities.values()) == pytest.approx(expected)
    assert list(prediction.probabilities) == ["benign", "malignant", "normal"]


@pytest.mark.parametrize("threshold, label, flagged", [(0.25, "malignant", True), (0.5, "benign", False)])
def test_malignant_is_reported_from_the_threshold_up(threshold, label, flagged):
    logits = np.log([0.6, 0.3, 0.1])  # benign most probable, malignant 0.3
    settings = InferenceSettings(temperature=1.0, malignant_threshold=threshold, flip_average=False)
    prediction = Pipeline(lesion_segmenter, constant_classifier(logits), settings).predict_gray(SCAN)
    assert prediction.probabilities["malignant"] == pytest.approx(0.3)
    assert (prediction.label, prediction.decision.most_probable, prediction.decision.malignant_flagged) == (
        label, "benign", flagged)
    assert prediction.mask.any()  # a lesion answer shows its outline


def test_mirror_averaging_averages_the_logits_of_both_views():
    def left_bright_classifier(batch):
        """Malignant when the left half of the scan channel is the brighter one, else benign."""
        width = batch.shape[2]
        left, right = batch[0, :, : width // 2, 0].mean(), batch[0, :, width // 2:, 0].mean()
        return np.array([0.0, 4.0, 0.0]) if left > right else np.array([4.0, 0.0, 0.0])

    scan = np.zeros((256, 256), np.uint8)
    scan[:, :128] = 200
    single = Pipeline(lesion_segmenter, left_bright_classifier, SETTINGS)
    averaged = Pipeline(lesion_segmenter, left_bright_classifier,
                        InferenceSettings(temperature=1.0, malignant_threshold=1.0, flip_average=True))
    assert single.predict_gray(scan).logits.tolist() == [[0.0, 4.0, 0.0]]
    assert averaged.predict_gray(scan).logits.tolist() == [[2.0, 2.0, 0.0]]


def counting_classifier(logits):
    """A constant classifier that counts its calls (one per pass)."""
    def classify(batch):
        classify.calls += 1
        return np.array(logits, dtype=np.float64)
    classify.calls = 0
    return classify


@pytest.mark.parametrize("probabilities, passes", [
    ([0.90, 0.05, 0.05], 1),  # far from the threshold and from the runner-up: one pass
    ([0.55, 0.40, 0.05], 2),  # malignant 0.40 within 0.15 of the threshold 0.3
    ([0.48, 0.04, 0.48], 2),  # benign and normal tied
])
def test_the_mirror_pass_runs_only_near_a_decision_boundary(probabilities, passes):
    classifier = counting_classifier(np.log(probabilities))
    settings = InferenceSettings(temperature=1.0, malignant_threshold=0.3, flip_average=True, mirror_margin=0.15)
    Pipeline(lesion_segmenter, classifier, settings).predict_gray(SCAN)
    assert classifier.calls == passes
    always = counting_classifier(np.log(probabilities))
    Pipeline(lesion_segmenter, always, InferenceSettings(malignant_threshold=0.3, mirror_margin=1.0)).predict_gray(SCAN)
    assert always.calls == 2


def test_settings_round_trip_through_the_card_and_a_missing_field_is_an_error():
    settings = InferenceSettings(classifier_size=224, temperature=1.7, malignant_threshold=0.3, threads=2,
                                 mirror_margin=0.2)
    card = {"classes": ["benign", "malignant", "normal"], **settings.card_sections()}
    assert InferenceSettings.from_card(json.loads(json.dumps(card))) == settings
    del card["mask"]["min_lesion_confidence"]
    with pytest.raises(ModelCardError, match="mask.min_lesion_confidence"):
        InferenceSettings.from_card(card)
    unknown = {"classes": card["classes"], **InferenceSettings(classifier_input="four_view").card_sections()}
    with pytest.raises(ModelCardError, match="four_view"):
        InferenceSettings.from_card(unknown)


def test_the_bundled_card_says_how_to_run_its_models():
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    settings = InferenceSettings.from_card(card)
    assert settings.temperature == card["calibration"]["temperature"]
    assert settings.malignant_threshold == card["decision"]["malignant_threshold"]
    assert settings.flip_average is card["inference"]["flip_average"]
    assert settings.mirror_margin == card["inference"]["mirror_margin"]
