"""Metric functions against small hand-computed cases."""
import numpy as np
import pytest

from training.evaluate import classification_metrics, segmentation_metrics
from training.metrics import dice, expected_calibration_error, iou, pixel_accuracy

PRED = np.array([[1, 1, 0, 0],
                 [1, 1, 0, 0],
                 [0, 0, 0, 0]], bool)
TRUTH = np.array([[0, 1, 1, 0],
                  [0, 1, 1, 0],
                  [0, 0, 0, 0]], bool)


def test_dice_iou_pixel_accuracy_by_hand():
    # overlap 2 pixels, |pred| = |truth| = 4, union 6, 8 of 12 pixels agree
    assert dice(PRED, TRUTH) == pytest.approx(2 * 2 / 8)
    assert iou(PRED, TRUTH) == pytest.approx(2 / 6)
    assert pixel_accuracy(PRED, TRUTH) == pytest.approx(8 / 12)


def test_empty_masks():
    empty = np.zeros((3, 4), bool)
    assert dice(empty, empty) == 1.0 and iou(empty, empty) == 1.0
    assert dice(PRED, empty) == 0.0 and iou(empty, TRUTH) == 0.0


def test_ece_by_hand():
    # two bins: conf 0.9 (2 samples, 1 right) and 0.6 (2 samples, both right)
    probs = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]])
    labels = np.array([0, 1, 0, 1])
    assert expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.4)


def test_perfectly_calibrated_has_zero_ece():
    probs = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == pytest.approx(0.0)


def test_classification_metrics_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 1, 2, 0]] * 0.8 + 0.2 / 3
    m = classification_metrics(labels, probs)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["malignant_recall"] == pytest.approx(1.0)
    assert m["per_class"]["malignant"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["benign"]["recall"] == pytest.approx(0.5)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    f1 = [2 * .5 * .5 / 1, 2 * (2 / 3) / (2 / 3 + 1), 2 * .5 / 1.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))


def test_segmentation_metrics_average_lesions_and_flag_normals():
    empty = np.zeros_like(PRED)
    m = segmentation_metrics([PRED, TRUTH, PRED, empty], [TRUTH, TRUTH, empty, empty], [0, 1, 2, 2])
    assert m["dice_lesion_images"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["false_lesion_rate_normal"] == pytest.approx(0.5)
