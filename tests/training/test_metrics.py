"""Metric functions against small hand-computed cases."""
import numpy as np
import pytest

from training.evaluate import classification_metrics, segmentation_metrics
from training.metrics import dice, expected_calibration_error, iou, negative_log_likelihood, pixel_accuracy

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


def test_decision_flags_malignant_at_the_threshold_else_takes_the_top_class():
    from inference.pipeline import Decision, decide, reported_classes

    probabilities = np.array([[0.6, 0.3, 0.1], [0.6, 0.25, 0.15], [0.1, 0.2, 0.7], [0.2, 0.7, 0.1]])
    assert decide(probabilities[0], 0.3) == Decision("malignant", most_probable="benign", malignant_flagged=True)
    assert decide(probabilities[1], 0.3) == Decision("benign", most_probable="benign", malignant_flagged=False)
    assert decide(probabilities[3], 0.3) == Decision("malignant", most_probable="malignant", malignant_flagged=True)
    assert reported_classes(probabilities, 0.3).tolist() == [1, 0, 2, 1]
    assert reported_classes(probabilities, 1.0).tolist() == [0, 0, 2, 1]  # 1.0: the most probable class


@pytest.mark.slow  # training.export imports TensorFlow
def test_malignant_threshold_is_the_highest_that_meets_the_recall_target():
    from training.export import MIN_MALIGNANT_THRESHOLD, choose_malignant_threshold

    # ten cancers with malignant probabilities 0.30, 0.35 ... 0.75; argmax finds the five above 0.5
    p_malignant = np.linspace(0.3, 0.75, 10)
    probabilities = np.stack([1 - p_malignant, p_malignant, np.zeros(10)], axis=1)
    cancers = np.ones(10, dtype=int)
    # 90% recall = 9 of 10: every cancer but the one at 0.30, so the threshold is 0.35
    assert choose_malignant_threshold(probabilities, cancers) == pytest.approx(0.35)
    # the same cancers 0.25 lower would need 0.10: the floor stops it
    assert choose_malignant_threshold(probabilities - [-0.25, 0.25, 0], cancers) == MIN_MALIGNANT_THRESHOLD
    confident = np.tile([0.05, 0.9, 0.05], (10, 1))
    assert choose_malignant_threshold(confident, cancers) == 1.0  # argmax already finds them all


@pytest.mark.slow  # training.export imports TensorFlow
def test_mirror_margin_is_the_smallest_that_keeps_every_averaged_decision():
    from inference.settings import InferenceSettings
    from training.export import choose_mirror_margin

    settings = InferenceSettings(temperature=1.0, malignant_threshold=1.0)
    # scan 0 is sure (benign 0.9); scan 1's first pass says benign 0.60 vs malignant 0.38 (a 0.22
    # gap), its average with the mirror pass says malignant: only a margin >= 0.22 keeps that
    first_pass = np.log([[0.9, 0.05, 0.05], [0.6, 0.38, 0.02]])
    averaged = np.log([[0.8, 0.1, 0.1], [0.4, 0.55, 0.05]])
    chosen, mirror_pass = choose_mirror_margin(settings, first_pass, averaged)
    assert chosen.mirror_margin == pytest.approx(0.25)
    assert mirror_pass == {"scans": 2, "mirror_pass_share": 0.5}
    assert (chosen.temperature, chosen.malignant_threshold) == (1.0, 1.0)
    same = choose_mirror_margin(settings, first_pass, first_pass)[0]
    assert same.mirror_margin == pytest.approx(0.05)  # nothing to change: the smallest on the grid


def test_missed_lesion_metrics_classify_lesion_scans_with_an_empty_mask():
    from inference.pipeline import Pipeline
    from inference.settings import InferenceSettings
    from training.evaluate import missed_lesion_metrics

    seen_masks = []

    def classifier(batch):
        """Normal when the mask channel is empty, unless the scan is bright: then malignant."""
        seen_masks.append(batch[0, ..., 2].max())
        return np.array([0.0, 4.0, 0.0]) if batch[0, ..., 0].mean() > 128 else np.array([0.0, 0.0, 4.0])

    pipeline = Pipeline(segmenter=None, classifier=classifier,
                        settings=InferenceSettings(classifier_input="three_channel", classifier_size=192,
                                                   flip_average=False, malignant_threshold=1.0))
    bright, dark = np.full((40, 50), 200, np.uint8), np.full((40, 50), 30, np.uint8)
    labels = np.array([1, 1, 0, 2])  # malignant (bright), malignant (dark), benign (dark), normal
    metrics = missed_lesion_metrics(pipeline, [bright, dark, dark, bright], labels)
    assert metrics == {"lesion_scans": 3, "called_normal": pytest.approx(2 / 3), "cancers_flagged": 0.5}
    assert seen_masks == [0.0, 0.0, 0.0]  # the normal scan is skipped; every mask channel was empty
    assert missed_lesion_metrics(pipeline, [bright], np.array([2])) is None  # no lesion scan, nothing to say


def test_negative_log_likelihood_by_hand():
    """Two scans given 0.5 and 0.25 for their true classes: (ln 2 + ln 4) / 2 = 1.5 ln 2."""
    probabilities = np.array([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]])
    assert negative_log_likelihood(probabilities, np.array([0, 2])) == pytest.approx(1.5 * np.log(2))
