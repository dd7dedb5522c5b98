"""The preprocessing shared by training and serving: network inputs and mask cleaning."""
from dataclasses import replace

import numpy as np
import pytest

from inference.input_kinds import MIN_CROP_SIDE, lesion_box
from inference.postprocessing import clean_probability
from inference.preprocessing import classifier_input, unet_input
from inference.settings import InferenceSettings

SETTINGS = InferenceSettings()
MODEL_SIZE, CLASSIFIER_SIZE = SETTINGS.square_size, SETTINGS.classifier_size


def test_lesion_box_is_twice_the_lesion_centred_and_inside_the_frame():
    mask = np.zeros((MODEL_SIZE, MODEL_SIZE), dtype=bool)
    mask[100:140, 90:110] = True  # 40 rows x 20 columns, centre (120, 100)
    assert lesion_box(mask) == (80, 60, 80)  # side 2 * 40, centred
    mask[:] = False
    mask[0:60, 200:250] = True  # near the top-right corner: shifted inside, not cut
    assert lesion_box(mask) == (0, MODEL_SIZE - 120, 120)
    mask[:] = False
    mask[10:12, 10:12] = True  # a speck still gets the minimum context
    assert lesion_box(mask)[2] == MIN_CROP_SIDE


def test_empty_mask_gives_the_whole_frame_as_the_lesion_view():
    square = np.random.default_rng(0).integers(0, 256, (MODEL_SIZE, MODEL_SIZE), dtype=np.uint8)
    empty = np.zeros(square.shape, dtype=bool)
    assert lesion_box(empty) == (0, 0, MODEL_SIZE)
    inputs = classifier_input(SETTINGS, square, empty)
    assert inputs.shape == (CLASSIFIER_SIZE, CLASSIFIER_SIZE, 2)
    assert np.array_equal(inputs[..., 0], inputs[..., 1])


def test_two_view_input_is_the_scan_and_the_cut_out_lesion():
    square = np.zeros((MODEL_SIZE, MODEL_SIZE), dtype=np.uint8)
    square[:, 128:] = 200  # right half bright
    mask = np.zeros(square.shape, dtype=bool)
    mask[20:60, 150:190] = True  # a lesion in the bright half: its view is all bright
    inputs = classifier_input(SETTINGS, square, mask)
    assert inputs.dtype == np.float32
    assert inputs[..., 0].mean() == pytest.approx(100, abs=1)
    assert np.all(inputs[..., 1] == 200)


def test_raw_input_ignores_the_mask():
    settings = replace(SETTINGS, classifier_input="raw")
    square = np.random.default_rng(1).integers(0, 256, (MODEL_SIZE, MODEL_SIZE), dtype=np.uint8)
    mask = np.zeros(square.shape, dtype=bool)
    mask[50:90, 50:90] = True
    raw = classifier_input(settings, square, mask)
    assert raw.shape == (CLASSIFIER_SIZE, CLASSIFIER_SIZE, 1)
    assert np.array_equal(raw, classifier_input(settings, square, ~mask))


def test_unet_input_is_the_downscaled_scan_in_pixels():
    square = np.full((MODEL_SIZE, MODEL_SIZE), 180, dtype=np.uint8)
    inputs = unet_input(SETTINGS, square)
    assert inputs.shape == (SETTINGS.unet_size, SETTINGS.unet_size, 1) and inputs.dtype == np.float32
    assert np.all(inputs == 180)  # the model scales its input itself


def test_clean_probability_drops_specks_and_unsure_blobs():
    probability = np.zeros((MODEL_SIZE, MODEL_SIZE), np.float32)
    probability[10:50, 10:50] = 0.95  # a confident lesion: kept
    probability[100:102, 100:102] = 0.99  # a speck below the minimum area: dropped
    probability[150:200, 150:200] = 0.6  # large but unsure: dropped
    cleaned = clean_probability(SETTINGS, probability)
    assert cleaned[10:50, 10:50].min() == pytest.approx(0.95)
    assert cleaned[100:102, 100:102].max() == 0 and cleaned[150:200, 150:200].max() == 0
