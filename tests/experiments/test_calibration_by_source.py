"""The bootstrap interval of the ECE, on cases whose every resample has a known ECE."""
import numpy as np
import pytest

from experiments.calibration_by_source import bootstrap_interval

pytestmark = pytest.mark.slow  # imports TensorFlow (training.export)


def test_confident_and_right_is_zero_and_confident_and_wrong_is_one_in_every_resample():
    labels = np.array([0, 1, 2, 0, 1])
    one_hot = np.eye(3)[labels]
    assert bootstrap_interval(one_hot, labels, draws=50) == (0.0, 0.0)
    assert bootstrap_interval(np.roll(one_hot, 1, axis=1), labels, draws=50) == (1.0, 1.0)


def test_the_interval_brackets_the_ece_of_a_mixed_split():
    labels = np.zeros(20, dtype=int)
    right, wrong = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1]  # 80% confident, right half the time: ECE 0.3
    probabilities = np.array([right] * 10 + [wrong] * 10)
    low, high = bootstrap_interval(probabilities, labels, draws=200)
    assert low < 0.3 < high and high - low < 0.6
