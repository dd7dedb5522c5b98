"""The decision texts: every row of the branch table, reached through the real pipeline with fake
models, and the card's public summary they quote."""
from __future__ import annotations

import re

import numpy as np
import pytest

from app.explain import CLASS_TITLES, HEADLINES, NEXT_STEPS, SUMMARIES, disclaimer, explain
from inference.pipeline import Pipeline
from inference.public_summary import PublicSummary
from inference.settings import CLASS_NAMES, InferenceSettings, ModelCardError
from training.summary import public_summary

# Rates unlike the bundled card's, so a text that hard-codes the card's numbers fails.
FACTS = PublicSummary(accuracy=0.731, lesions_called_normal=0.123, scans=57, evaluated_on="test")
SCAN = np.full((300, 400), 90, np.uint8)


def segmenter(outlined: bool):
    """A confident blob in the middle of the frame, or nothing."""
    def segment(batch):
        probability = np.zeros((*batch.shape[1:3], 1), np.float32)
        if outlined:
            size = batch.shape[1]
            probability[size // 4:size // 2, size // 4:size // 2] = 0.95
        return probability
    return segment


def predict(probabilities, outlined, threshold=0.2):
    """The real pipeline on fake models whose calibrated probabilities are `probabilities`."""
    settings = InferenceSettings(temperature=1.0, malignant_threshold=threshold, flip_average=False)
    logits = np.log(np.asarray(probabilities, dtype=np.float64))
    return Pipeline(segmenter(outlined), lambda batch: logits, settings).predict_gray(SCAN)


# most likely, flagged, uncertain, outlined -> (benign, malignant, normal) probabilities, threshold
ROWS = {
    ("benign", False, False, True): ((0.80, 0.10, 0.10), 0.2),
    ("benign", False, False, False): ((0.80, 0.10, 0.10), 0.2),
    ("benign", False, True, True): ((0.50, 0.15, 0.35), 0.2),
    ("benign", False, True, False): ((0.50, 0.15, 0.35), 0.2),
    ("benign", True, False, True): ((0.70, 0.25, 0.05), 0.2),
    ("benign", True, False, False): ((0.70, 0.25, 0.05), 0.2),
    ("benign", True, True, True): ((0.50, 0.30, 0.20), 0.2),
    ("benign", True, True, False): ((0.50, 0.30, 0.20), 0.2),
    # a normal answer hides the outline, so unflagged normal rows are never outlined
    ("normal", False, False, False): ((0.10, 0.10, 0.80), 0.2),
    ("normal", False, True, False): ((0.35, 0.15, 0.50), 0.2),
    ("normal", True, False, True): ((0.10, 0.25, 0.65), 0.2),
    ("normal", True, False, False): ((0.10, 0.25, 0.65), 0.2),
    ("normal", True, True, True): ((0.20, 0.30, 0.50), 0.2),
    ("normal", True, True, False): ((0.20, 0.30, 0.50), 0.2),
    ("malignant", True, False, True): ((0.10, 0.80, 0.10), 0.2),
    ("malignant", True, False, False): ((0.10, 0.80, 0.10), 0.2),
    ("malignant", True, True, True): ((0.30, 0.45, 0.25), 0.2),
    ("malignant", True, True, False): ((0.30, 0.45, 0.25), 0.2),
    # malignant on top but under a threshold above 1/3 (the card's is 0.2)
    ("malignant", False, False, True): ((0.15, 0.65, 0.20), 0.7),
    ("malignant", False, False, False): ((0.15, 0.65, 0.20), 0.7),
    ("malignant", False, True, True): ((0.30, 0.45, 0.25), 0.7),
    ("malignant", False, True, False): ((0.30, 0.45, 0.25), 0.7),
}


def test_the_rows_cover_every_reachable_branch():
    reachable = {(top, flagged, unsure, outlined) for top in CLASS_NAMES for flagged in (False, True)
                 for unsure in (False, True) for outlined in (False, True)
                 if not (top == "normal" and not flagged and outlined)}
    assert reachable == set(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: "-".join(map(str, row)))
def test_each_branch_tells_one_consistent_story(row):
    most_likely, flagged, uncertain, outlined = row
    probabilities, threshold = ROWS[row]
    prediction = predict(probabilities, outlined, threshold)
    assert (prediction.decision.most_probable, prediction.decision.malignant_flagged,
            bool(prediction.mask.any())) == (most_likely, flagged, outlined)
    explanation = explain(prediction, FACTS, threshold)

    assert explanation.headline == HEADLINES[most_likely, flagged]
    assert explanation.headline.startswith(f"Most likely {most_likely}")
    assert ("flagged for a doctor's review" in explanation.headline) == flagged
    if flagged:
        chance = f"{prediction.probabilities['malignant']:.0%}"
        assert explanation.flag_note == (f"Flagged for a doctor's review: a {threshold:.0%} chance of cancer is "
                                         f"enough to check, and the model estimates {chance} for this scan.")
    else:
        assert explanation.flag_note is None
    assert explanation.uncertain == uncertain
    assert ("no answer reached 60%" in (explanation.uncertain_note or "")) == uncertain
    assert explanation.summary.startswith(SUMMARIES[most_likely, outlined][:40])
    assert "about 73 times in 100" in explanation.accuracy_note and "57 scans" in explanation.accuracy_note
    steps_key = "flagged" if flagged and most_likely != "malignant" else most_likely
    assert explanation.next_steps == NEXT_STEPS[steps_key]
    # the one paragraph the API sends holds all of it, headline first
    assert explanation.text.startswith(explanation.headline)
    assert all(part in explanation.text for part in (explanation.summary, explanation.accuracy_note))


@pytest.mark.parametrize("outlined", [False, True])
def test_normal_states_what_it_misses_and_never_soothes(outlined):
    explanation = explain(predict((0.10, 0.25, 0.65), outlined), FACTS, 0.2)
    assert "about 12 times in 100" in explanation.summary  # FACTS.lesions_called_normal
    unflagged = explain(predict((0.10, 0.10, 0.80), False), FACTS, 0.2)
    assert "about 12 times in 100" in unflagged.summary
    assert "felt or seen" in unflagged.next_steps[0] and "whatever this result says" in unflagged.next_steps[0]


def test_no_text_soothes_or_diagnoses():
    texts = [*HEADLINES.values(), *SUMMARIES.values(), *sum(NEXT_STEPS.values(), ()), disclaimer(),
             *CLASS_TITLES.values()]
    for text in texts:
        lowered = text.lower()
        for phrase in ("reassur", "screening schedule", "nothing to worry", "all clear", "diagnosed"):
            assert phrase not in lowered, f"{phrase!r} in {text!r}"
    assert "not a diagnosis" in disclaimer()


def test_the_only_numbers_are_the_scan_s_and_the_card_s():
    explanation = explain(predict((0.50, 0.30, 0.20), True), FACTS, 0.2)
    numbers = set(re.findall(r"\d+", " ".join((explanation.text, *explanation.next_steps))))
    assert numbers == {"20", "30", "60", "57", "73", "100"}  # threshold, chance, unsure below, card


def test_public_summary_from_a_hand_made_confusion_matrix():
    # rows true benign/malignant/normal, columns reported; 7 + 2 lesion scans called normal of 30
    results = {"split": "test", "classification": {
        "n": 40, "accuracy": 0.65, "confusion": [[12, 3, 5], [1, 7, 2], [1, 2, 7]]}}
    summary = public_summary(results, "BUSI")
    assert summary.accuracy == 0.65 and summary.scans == 40
    assert summary.lesions_called_normal == pytest.approx(7 / 30, abs=1e-4)
    assert "test scans of BUSI" in summary.evaluated_on
    assert PublicSummary.from_card({"public_summary": summary.as_card_section()}) == summary


@pytest.mark.parametrize("section", [None, {"accuracy": 0.6}, {"accuracy": 1.4, "lesions_called_normal": 0.2,
                                                                "scans": 9, "evaluated_on": "x"}])
def test_a_card_without_a_sound_public_summary_is_refused(section):
    with pytest.raises(ModelCardError, match="public_summary"):
        PublicSummary.from_card({} if section is None else {"public_summary": section})


def test_the_bundled_card_states_its_own_test_numbers():
    import json

    from inference.paths import MODELS_DIR

    from training.evaluate import pooled

    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    stated = PublicSummary.from_card(card)
    tests = [card["metrics"][f"{source}_test"] for source in card["data"]]
    assert stated == public_summary(pooled(tests), " and ".join(card["data"]))
