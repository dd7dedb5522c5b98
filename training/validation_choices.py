"""What export chooses on validation, and the figures behind each choice: the temperature, the
malignant threshold, the normal rule, the uncertain level and each network's precision.

Pure NumPy on the served steps' outputs (`ValidationScans`), so the rules are tested on small
hand-made cases without TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inference.pipeline import (
    MALIGNANT,
    NORMAL,
    DecisionRule,
    Pipeline,
    caveats,
    decide,
    ensemble_probabilities,
    reported_classes,
)
from inference.postprocessing import softmax
from inference.settings import InferenceSettings
from training.metrics import dice, expected_calibration_error, negative_log_likelihood


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising validation negative log-likelihood (Guo et al., 2017) of the
    ensemble's averaged probabilities; `logits` (scans, members, classes) or (scans, classes)."""
    from scipy.optimize import minimize_scalar

    member_logits = logits if logits.ndim == 3 else logits[:, None]

    def nll(log_t):
        return negative_log_likelihood(ensemble_probabilities(member_logits, float(np.exp(log_t))), labels)

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


MALIGNANT_RECALL_TARGET = 0.9  # on validation, a margin above the 0.85 the product asks for
MIN_MALIGNANT_THRESHOLD = 0.2  # never flag a scan on a lower chance than this


def choose_malignant_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The highest malignant threshold that still finds MALIGNANT_RECALL_TARGET of the
    validation cancers (1.0 when the most probable class already does), never below
    MIN_MALIGNANT_THRESHOLD. The highest, so benign scans are flagged as little as possible.
    """
    cancers = labels == MALIGNANT
    for threshold in np.unique(np.r_[probabilities[cancers, MALIGNANT], 1.0])[::-1]:
        if np.mean(reported_classes(probabilities[cancers], threshold) == MALIGNANT) >= MALIGNANT_RECALL_TARGET:
            return max(float(threshold), MIN_MALIGNANT_THRESHOLD)
    return MIN_MALIGNANT_THRESHOLD


def calibrate(settings: InferenceSettings, logits: np.ndarray, labels: np.ndarray) -> InferenceSettings:
    """The settings with the temperature and malignant threshold fitted on validation logits."""
    temperature = round(fit_temperature(logits, labels), 4)
    threshold = choose_malignant_threshold(ensemble_probabilities(logits, temperature), labels)
    return replace(settings, temperature=temperature, malignant_threshold=threshold)


# "Normal" needs the classifier and the outline to agree: the loosest rule on these grids that
# calls at most MAX_LESIONS_CALLED_NORMAL of every validation source's lesions normal.
NORMAL_MIN_PROBABILITIES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
NORMAL_MAX_OUTLINES = (1.0, 0.05, 0.02, 0.01, 0.0)  # share of the square; 0: nothing outlined
MAX_LESIONS_CALLED_NORMAL = 0.03
# The top probability under which an answer is marked uncertain: the highest level at which at
# most MAX_CAVEAT_SHARE of every validation source's answers carry a caveat (of any reason).
UNCERTAIN_LEVELS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
MAX_CAVEAT_SHARE = 0.2


@dataclass
class ValidationScans:
    """What the served steps give on every validation scan, for one (UNet, classifier) pair."""

    sources: np.ndarray  # source name per scan
    labels: np.ndarray
    logits: np.ndarray  # (scans, members, classes)
    outlines: np.ndarray  # the cleaned outline's share of the square
    dice: np.ndarray  # Dice of the full-size mask with the truth (lesion scans; NaN for normals)

    def per_source(self):
        return [(name, self.sources == name) for name in dict.fromkeys(self.sources)]


def validation_scans(pipeline: Pipeline, images, true_masks, labels, sources) -> ValidationScans:
    """Every scan through the served steps (`true_masks` None: no Dice)."""
    logits, outlines, dices = [], [], []
    for gray, truth, label in zip(images, true_masks or [None] * len(images), labels, strict=True):
        square = pipeline.square(gray)
        cleaned = pipeline.lesion_map(pipeline.segment(square))
        square_mask = pipeline.lesion_mask(cleaned, *square.shape)
        logits.append(pipeline.classifier_logits(square, square_mask))
        outlines.append(float(square_mask.mean()))
        lesion = label != NORMAL and truth is not None
        dices.append(dice(pipeline.lesion_mask(cleaned, *gray.shape), truth) if lesion else np.nan)
    return ValidationScans(np.array(sources), np.array(labels), np.stack(logits), np.array(outlines), np.array(dices))


def decisions(settings: InferenceSettings, scans: ValidationScans) -> np.ndarray:
    return reported_classes(ensemble_probabilities(scans.logits, settings.temperature), DecisionRule.of(settings),
                            scans.outlines)


def choose_normal_rule(settings: InferenceSettings, scans: ValidationScans) -> tuple[InferenceSettings, list[dict]]:
    """The settings with the normal rule that keeps every source's lesions called normal at most
    MAX_LESIONS_CALLED_NORMAL with the highest normal recall (ties: fewer lesions missed, then the
    looser rule); where none does, the rule missing the fewest. Returns every rule's figures too."""
    rows = []
    for min_probability in NORMAL_MIN_PROBABILITIES:
        for max_outline in NORMAL_MAX_OUTLINES:
            candidate = replace(settings, normal_min_probability=min_probability, normal_max_outline=max_outline)
            reported = decisions(candidate, scans)
            missed = {name: float(np.mean(reported[rows_ & (scans.labels != NORMAL)] == NORMAL))
                      for name, rows_ in scans.per_source()}
            normals = scans.labels == NORMAL
            rows.append({"normal_min_probability": min_probability, "normal_max_outline": max_outline,
                         "lesions_called_normal": missed,
                         "normal_recall": float(np.mean(reported[normals] == NORMAL)) if normals.any() else None})

    def preference(row):
        worst = max(row["lesions_called_normal"].values())
        return (worst <= MAX_LESIONS_CALLED_NORMAL, row["normal_recall"] or 0.0 if worst <= MAX_LESIONS_CALLED_NORMAL
                else -worst, -worst, -row["normal_min_probability"], row["normal_max_outline"])

    best = max(rows, key=preference)
    return replace(settings, normal_min_probability=best["normal_min_probability"],
                   normal_max_outline=best["normal_max_outline"]), rows


def caveat_figures(settings: InferenceSettings, scans: ValidationScans) -> dict:
    """Per source: the share of answers with a caveat, how often the others were right, and how
    often each reason fired."""
    rule = DecisionRule.of(settings)
    probabilities = ensemble_probabilities(scans.logits, settings.temperature)
    members = softmax(scans.logits, settings.temperature)
    reported = reported_classes(probabilities, rule, scans.outlines)
    reasons = [caveats(p, m, decide(p, rule, o), o, rule, settings.uncertain_below)
               for p, m, o in zip(probabilities, members, scans.outlines, strict=True)]
    flagged = np.array([bool(r) for r in reasons])
    figures = {}
    for name, rows in scans.per_source():
        clear = rows & ~flagged
        right = float(np.mean(reported[clear] == scans.labels[clear])) if clear.any() else None
        fired = [r for r, keep in zip(reasons, rows, strict=True) if keep]
        figures[name] = {"scans": int(rows.sum()), "with_caveat": float(flagged[rows].mean()),
                         "uncaveated_right": right,
                         "reasons": {reason: float(np.mean([reason in r for r in fired]))
                                     for reason in sorted({x for r in reasons for x in r})}}
    return figures


def choose_uncertain_below(settings: InferenceSettings, scans: ValidationScans) -> tuple[InferenceSettings, list[dict]]:
    """The settings with the highest UNCERTAIN_LEVELS level at which every source's caveat share
    stays within MAX_CAVEAT_SHARE (the lowest level where none does), and each level's figures."""
    rows = [{"uncertain_below": level, "sources": caveat_figures(replace(settings, uncertain_below=level), scans)}
            for level in UNCERTAIN_LEVELS]
    fitting = [row for row in rows if all(f["with_caveat"] <= MAX_CAVEAT_SHARE for f in row["sources"].values())]
    chosen = fitting[-1] if fitting else rows[0]
    return replace(settings, uncertain_below=chosen["uncertain_below"]), rows


def member_figures(settings: InferenceSettings, scans: ValidationScans) -> dict:
    """Per source, each member alone and the ensemble: accuracy of the reported answer, ECE, NLL,
    lesions called normal and benign-vs-malignant AUC, with the members' mean and spread."""
    from sklearn.metrics import roc_auc_score

    def figures(probabilities, rows):
        labels, outlines = scans.labels[rows], scans.outlines[rows]
        reported = reported_classes(probabilities[rows], DecisionRule.of(settings), outlines)
        lesion = labels != NORMAL
        auc = (float(roc_auc_score(labels[lesion] == MALIGNANT, probabilities[rows][lesion, MALIGNANT]))
               if len(np.unique(labels[lesion])) == 2 else None)
        return {"accuracy": float(np.mean(reported == labels)),
                "ece": expected_calibration_error(probabilities[rows], labels),
                "nll": negative_log_likelihood(probabilities[rows], labels),
                "lesions_called_normal": float(np.mean(reported[lesion] == NORMAL)) if lesion.any() else None,
                "benign_vs_malignant_auc": auc}

    members = softmax(scans.logits, settings.temperature)
    ensemble = ensemble_probabilities(scans.logits, settings.temperature)
    result = {}
    for name, rows in scans.per_source():
        each = [figures(members[:, m], rows) for m in range(members.shape[1])]
        spread = {key: [float(np.mean([e[key] for e in each])), float(np.std([e[key] for e in each]))]
                  for key in each[0] if each[0][key] is not None}
        result[name] = {"ensemble": figures(ensemble, rows), "members": each, "members_mean_sd": spread}
    return result


# int8 is served for a network only when, against float32 on every validation source, it keeps
# the reported answer of at least this share of scans, moves Dice by at most this much, and moves
# no calibrated probability by more than this.
INT8_RULES = {"min_same_decisions": 0.99, "max_dice_change": 0.01, "max_probability_difference": 0.02}


def int8_comparison(settings: InferenceSettings, reference: ValidationScans, candidate: ValidationScans) -> dict:
    """How the candidate (one network int8) answers against float32, per source, and whether it passes INT8_RULES."""
    same = decisions(settings, reference) == decisions(settings, candidate)
    gap = np.abs(ensemble_probabilities(reference.logits, settings.temperature)
                 - ensemble_probabilities(candidate.logits, settings.temperature)).max(axis=1)
    per_source = {}
    for name, rows in reference.per_source():
        lesion = rows & ~np.isnan(reference.dice)
        per_source[name] = {"same_decisions": float(same[rows].mean()),
                            "dice_float32": float(np.mean(reference.dice[lesion])),
                            "dice_int8": float(np.mean(candidate.dice[lesion])),
                            "max_probability_difference": float(gap[rows].max())}
    passes = all(f["same_decisions"] >= INT8_RULES["min_same_decisions"]
                 and abs(f["dice_int8"] - f["dice_float32"]) <= INT8_RULES["max_dice_change"]
                 and f["max_probability_difference"] <= INT8_RULES["max_probability_difference"]
                 for f in per_source.values())
    return {"per_source": per_source, "int8_served": passes}


MIRROR_MARGINS = tuple(round(0.05 * step, 2) for step in range(1, 21))  # 0.05 ... 1.0 (always)


def choose_mirror_margin(settings: InferenceSettings, first_pass: np.ndarray,
                         averaged: np.ndarray) -> tuple[InferenceSettings, dict]:
    """The settings with the smallest `mirror_margin` at which running the mirror pass only near
    a decision boundary gives every validation scan the decision that always averaging gives,
    and how often that margin runs the mirror pass. `first_pass` and `averaged` are the
    validation logits (scans, members, classes) without and with flip averaging, under
    calibrated `settings` (a single classifier's: an ensemble's members replace the mirror pass)."""
    def decided(candidate: InferenceSettings, logits: np.ndarray) -> np.ndarray:
        return reported_classes(ensemble_probabilities(logits, candidate.temperature), candidate.malignant_threshold)

    always = decided(settings, averaged)
    for margin in MIRROR_MARGINS:
        candidate = Pipeline(None, None, replace(settings, mirror_margin=margin))
        mirrored = np.array([candidate.needs_mirror_pass(candidate.probabilities(row)) for row in first_pass])
        served = np.where(mirrored[:, None, None], averaged, first_pass)
        if np.array_equal(decided(candidate.settings, served), always):
            return candidate.settings, {"scans": len(first_pass), "mirror_pass_share": float(mirrored.mean())}
    raise AssertionError("a margin of 1.0 always runs the mirror pass")
