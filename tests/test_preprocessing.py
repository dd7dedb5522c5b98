"""The preprocessing shared by training and serving: classifier input and mask cleaning."""
import numpy as np
import pytest

from inference.preprocessing import baseline_input, classifier_input, clean_probability
from inference.settings import InferenceSettings

SETTINGS = InferenceSettings()
MODEL_SIZE, CLASSIFIER_SIZE = SETTINGS.square_size, SETTINGS.classifier_size


def test_classifier_input_channels_are_scan_masked_scan_and_mask():
    square = np.full((MODEL_SIZE, MODEL_SIZE), 100, dtype=np.uint8)
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), dtype=bool)
    mask[64:128, 64:192] = True  # an eighth of the frame
    inputs = classifier_input(SETTINGS, square, mask)
    assert inputs.shape == (CLASSIFIER_SIZE, CLASSIFIER_SIZE, 3) and inputs.dtype == np.float32
    assert np.all(inputs[..., 0] == 100)
    assert inputs[..., 2].mean() / 255 == pytest.approx(1 / 8, abs=0.005)
    lesion = inputs[..., 2] > 0
    assert np.all(inputs[..., 1][lesion] == 100)  # the scan shows through inside the mask
    assert inputs[0, 0, 1] == 0  # and is dark far from it
    # the masked channel is widened a little past the mask's edge (margin context)
    assert (inputs[..., 1] > 0).sum() > lesion.sum()


def test_baseline_input_is_the_whole_frame_with_no_mask_information():
    square = np.random.default_rng(0).integers(0, 256, (MODEL_SIZE, MODEL_SIZE), dtype=np.uint8)
    inputs = baseline_input(SETTINGS, square)
    assert np.array_equal(inputs[..., 0], inputs[..., 1])
    assert np.all(inputs[..., 2] == 255)


def test_clean_probability_drops_specks_and_unsure_blobs():
    probability = np.zeros((MODEL_SIZE, MODEL_SIZE), np.float32)
    probability[10:50, 10:50] = 0.95  # a confident lesion: kept
    probability[100:102, 100:102] = 0.99  # a speck below the minimum area: dropped
    probability[150:200, 150:200] = 0.6  # large but unsure: dropped
    cleaned = clean_probability(SETTINGS, probability)
    assert cleaned[10:50, 10:50].min() == pytest.approx(0.95)
    assert cleaned[100:102, 100:102].max() == 0 and cleaned[150:200, 150:200].max() == 0
