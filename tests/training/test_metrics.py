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


def test_malignant_threshold_is_the_highest_that_meets_the_recall_target():
    from training.validation_choices import MIN_MALIGNANT_THRESHOLD, choose_malignant_threshold

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


def test_normal_is_reported_only_when_the_outline_and_the_classifier_agree():
    from inference.pipeline import Decision, DecisionRule, decide

    rule = DecisionRule(malignant_threshold=0.3, normal_min_probability=0.7, normal_max_outline=0.01)
    assert decide([0.1, 0.1, 0.8], rule, 0.0) == Decision("normal", "normal", False)
    assert decide([0.1, 0.1, 0.8], rule, 0.01) == Decision("normal", "normal", False)
    # an outline over 1% of the square, or a normal probability under 0.7: the likelier lesion class
    assert decide([0.05, 0.15, 0.8], rule, 0.02) == Decision("malignant", "normal", False, normal_overruled=True)
    assert decide([0.25, 0.1, 0.65], rule, 0.0) == Decision("benign", "normal", False, normal_overruled=True)
    # the malignant flag comes first, whatever the normal rule
    assert decide([0.1, 0.3, 0.6], rule, 0.0) == Decision("malignant", "normal", True)


def test_caveats_name_every_disagreement():
    from inference.pipeline import (
        LESION_WITHOUT_OUTLINE,
        LOW_CONFIDENCE,
        MEMBERS_DISAGREE,
        NORMAL_OVERRULED,
        OUTLINE_ON_NORMAL,
        DecisionRule,
        caveats,
        decide,
    )

    rule = DecisionRule(malignant_threshold=0.5, normal_min_probability=0.7, normal_max_outline=0.0)
    agreeing = np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1]])
    sure_benign = np.array([0.75, 0.15, 0.1])
    assert caveats(sure_benign, agreeing, decide(sure_benign, rule, 0.05), 0.05, rule, 0.6) == ()
    assert caveats(sure_benign, agreeing, decide(sure_benign, rule, 0.0), 0.0, rule, 0.6) == (LESION_WITHOUT_OUTLINE,)
    assert caveats(sure_benign, agreeing, decide(sure_benign, rule, 0.05), 0.05, rule, 0.8) == (LOW_CONFIDENCE,)
    split = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1]])  # the second member would flag malignant
    assert caveats(sure_benign, split, decide(sure_benign, rule, 0.05), 0.05, rule, 0.6) == (MEMBERS_DISAGREE,)
    leaning_normal = np.array([0.2, 0.1, 0.7])
    overruled = decide(leaning_normal, rule, 0.05)
    assert caveats(leaning_normal, leaning_normal[None], overruled, 0.05, rule, 0.6) == (NORMAL_OVERRULED,)
    loose = DecisionRule(malignant_threshold=0.5, normal_min_probability=0.7, normal_max_outline=0.02)
    assert caveats(leaning_normal, leaning_normal[None], decide(leaning_normal, loose, 0.01), 0.01, loose,
                   0.6) == (OUTLINE_ON_NORMAL,)
    assert caveats(leaning_normal, leaning_normal[None], decide(leaning_normal, loose, 0.0), 0.0, loose, 0.6) == ()


def test_ensemble_probabilities_average_each_member_s_calibrated_softmax():
    from inference.pipeline import ensemble_probabilities

    logits = np.log([[[0.8, 0.1, 0.1], [0.2, 0.6, 0.2]]])  # one scan, two members
    assert ensemble_probabilities(logits, 1.0)[0] == pytest.approx([0.5, 0.35, 0.15])
    # temperature 2 takes square roots before normalising, member by member
    root = np.sqrt([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2]])
    expected = (root / root.sum(axis=1, keepdims=True)).mean(axis=0)
    assert ensemble_probabilities(logits[0], 2.0) == pytest.approx(expected)


def scans(labels, probabilities, outlines, sources):
    from training.validation_choices import ValidationScans

    return ValidationScans(np.array(sources), np.array(labels), np.log(np.array(probabilities))[:, None],
                           np.array(outlines, float), np.full(len(labels), np.nan))


def test_normal_rule_is_the_loosest_that_misses_at_most_three_percent_of_lesions():
    from inference.settings import InferenceSettings
    from training.validation_choices import choose_normal_rule

    settings = InferenceSettings(temperature=1.0, malignant_threshold=1.0)
    # 40 lesion scans per source: one in each leans normal at 0.65 with an outline (2.5% missed
    # if allowed); a second BUS-BRA one leans normal at 0.75 with nothing outlined (5% if allowed);
    # three normal scans: 0.9 / no outline, 0.75 / no outline, 0.65 / small outline
    lesion = [[0.8, 0.1, 0.1]] * 38
    busi = [*lesion, [0.8, 0.1, 0.1], [0.3, 0.05, 0.65], [0.05, 0.05, 0.9], [0.2, 0.05, 0.75], [0.3, 0.05, 0.65]]
    busbra = [*lesion, [0.2, 0.05, 0.75], [0.3, 0.05, 0.65]]
    labels = [0] * 40 + [2] * 3 + [0] * 40
    outlines = [0.05] * 39 + [0.005, 0.0, 0.0, 0.005] + [0.05] * 38 + [0.0, 0.005]
    chosen, rows = choose_normal_rule(settings, scans(labels, busi + busbra, outlines, ["busi"] * 43 + ["busbra"] * 40))
    # everything allowed misses 5% of BUS-BRA's lesions; nothing outlined (or at least 0.7) misses one
    # BUS-BRA lesion of 40 (2.5%) and finds two normals of three: the loosest such rule on probability
    assert (chosen.normal_min_probability, chosen.normal_max_outline) == (0.0, 0.0)
    best = next(r for r in rows if (r["normal_min_probability"], r["normal_max_outline"]) == (0.0, 0.0))
    assert best["normal_recall"] == pytest.approx(2 / 3)
    assert best["lesions_called_normal"] == {"busi": 0.0, "busbra": 0.025}
    loose = next(r for r in rows if (r["normal_min_probability"], r["normal_max_outline"]) == (0.0, 1.0))
    assert loose["lesions_called_normal"] == {"busi": 0.025, "busbra": 0.05}


def test_uncertain_level_is_the_highest_within_the_caveat_budget():
    from inference.settings import InferenceSettings
    from training.validation_choices import MAX_CAVEAT_SHARE, choose_uncertain_below

    settings = InferenceSettings(temperature=1.0, malignant_threshold=1.0)
    # ten outlined benign answers with top probabilities 0.52, 0.57 ... 0.97: a level of L
    # marks those under L; at most 20% may carry a caveat, so two of ten: level 0.6
    tops = 0.52 + 0.05 * np.arange(10)
    probabilities = np.stack([tops, (1 - tops) / 2, (1 - tops) / 2], axis=1)
    chosen, rows = choose_uncertain_below(settings, scans([0] * 10, probabilities, [0.05] * 10, ["busi"] * 10))
    assert MAX_CAVEAT_SHARE == 0.2 and chosen.uncertain_below == 0.6
    at = {row["uncertain_below"]: row["sources"]["busi"] for row in rows}
    assert at[0.6]["with_caveat"] == pytest.approx(0.2) and at[0.65]["with_caveat"] == pytest.approx(0.3)
    assert at[0.6]["uncaveated_right"] == 1.0


def test_int8_is_served_only_within_every_rule():
    from inference.settings import InferenceSettings
    from training.validation_choices import ValidationScans, int8_comparison

    settings = InferenceSettings(temperature=1.0, malignant_threshold=1.0)
    labels, sources = np.zeros(100, int), np.array(["busi"] * 100)
    logits = np.log(np.tile([[[0.7, 0.2, 0.1]]], (100, 1, 1)))
    dice = np.full(100, 0.8)
    reference = ValidationScans(sources, labels, logits, np.full(100, 0.05), dice)
    close = ValidationScans(sources, labels, logits + 0.01, np.full(100, 0.05), dice - 0.005)
    assert int8_comparison(settings, reference, close)["int8_served"]
    flipped = logits.copy()
    flipped[:2] = np.log([[0.2, 0.7, 0.1]])  # two answers in 100 change: under 99% the same
    result = int8_comparison(settings, reference, ValidationScans(sources, labels, flipped, reference.outlines, dice))
    assert result["per_source"]["busi"]["same_decisions"] == pytest.approx(0.98) and not result["int8_served"]
    worse = ValidationScans(sources, labels, logits, reference.outlines, dice - 0.02)
    assert not int8_comparison(settings, reference, worse)["int8_served"]


def test_mirror_margin_is_the_smallest_that_keeps_every_averaged_decision():
    from inference.settings import InferenceSettings
    from training.validation_choices import choose_mirror_margin

    settings = InferenceSettings(temperature=1.0, malignant_threshold=1.0)
    # scan 0 is sure (benign 0.9); scan 1's first pass says benign 0.60 vs malignant 0.38 (a 0.22
    # gap), its average with the mirror pass says malignant: only a margin >= 0.22 keeps that
    first_pass = np.log([[[0.9, 0.05, 0.05]], [[0.6, 0.38, 0.02]]])
    averaged = np.log([[[0.8, 0.1, 0.1]], [[0.4, 0.55, 0.05]]])
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

    whole_scan_lesion_views = []

    def classifier(batch):
        """Normal, unless the scan is bright: then malignant."""
        whole_scan_lesion_views.append(np.array_equal(batch[0, ..., 0], batch[0, ..., 1]))
        return np.array([0.0, 4.0, 0.0]) if batch[0, ..., 0].mean() > 128 else np.array([0.0, 0.0, 4.0])

    pipeline = Pipeline(segmenter=None, classifier=classifier,
                        settings=InferenceSettings(classifier_input="two_view", classifier_size=192,
                                                   flip_average=False, malignant_threshold=1.0))
    bright, dark = np.full((40, 50), 200, np.uint8), np.full((40, 50), 30, np.uint8)
    labels = np.array([1, 1, 0, 2])  # malignant (bright), malignant (dark), benign (dark), normal
    metrics = missed_lesion_metrics(pipeline, [bright, dark, dark, bright], labels)
    assert metrics == {"lesion_scans": 3, "called_normal": pytest.approx(2 / 3), "cancers_flagged": 0.5}
    # the normal scan is skipped; with every mask emptied, the lesion view is the whole scan
    assert whole_scan_lesion_views == [True, True, True]
    assert missed_lesion_metrics(pipeline, [bright], np.array([2])) is None  # no lesion scan, nothing to say


def test_negative_log_likelihood_by_hand():
    """Two scans given 0.5 and 0.25 for their true classes: (ln 2 + ln 4) / 2 = 1.5 ln 2."""
    probabilities = np.array([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]])
    assert negative_log_likelihood(probabilities, np.array([0, 2])) == pytest.approx(1.5 * np.log(2))
