"""The decision texts: every row of the branch table, reached through the real pipeline with fake
models, and the card's public summary they quote."""
from __future__ import annotations

import re

import numpy as np
import pytest

from app.explain import CLASS_TITLES, HEADLINES, NEXT_STEPS, SUMMARIES, disclaimer, explain, in_100, percent
from inference.pipeline import Pipeline
from inference.public_summary import PublicSummary, SourceSummary
from inference.settings import CLASS_NAMES, InferenceSettings, ModelCardError
from training.summary import answer_counts, public_summary

# Rates and sources unlike the bundled card's, so a text that hard-codes the card's facts fails.
FACTS = PublicSummary(accuracy=0.731, lesions_called_normal=0.123, scans=57, evaluated_on="test", confident_at=0.8,
                      sources=(SourceSummary("Alpha", "JP", ("Acme X",), 40, 30, 13, 11),
                               SourceSummary("Beta", "NO", ("Acme Y", "Acme Z"), 17, 11, 0, 0)))
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


def settings(threshold=0.2, **rules):
    return InferenceSettings(temperature=1.0, malignant_threshold=threshold, flip_average=False, **rules)


def predict(probabilities, outlined, threshold=0.2, **rules):
    """The real pipeline on fake models whose calibrated probabilities are `probabilities` (one
    row per ensemble member, or one row)."""
    logits = np.log(np.asarray(probabilities, dtype=np.float64))
    return Pipeline(segmenter(outlined), lambda batch: logits, settings(threshold, **rules)).predict_gray(SCAN)


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
    explanation = explain(prediction, FACTS, settings(threshold))

    assert explanation.headline == HEADLINES[most_likely, flagged]
    assert explanation.headline.startswith(f"Most likely {most_likely}")
    assert ("flagged for a doctor's review" in explanation.headline) == flagged
    if flagged:
        chance = f"{prediction.probabilities['malignant']:.0%}"
        assert explanation.note("flag").text == (f"Flagged for a doctor's review: a {threshold:.0%} chance of "
                                                 f"cancer is enough to check, and the model estimates {chance} "
                                                 "for this scan.")
    else:
        assert explanation.note("flag") is None
    # uncertain: no class reached 60%; a lesion answer with nothing outlined is a caveat of its own
    without_outline = prediction.label != "normal" and not outlined
    assert explanation.uncertain == (uncertain or without_outline)
    assert ("no answer reached 60%" in str(explanation.note("uncertain") or "")) == uncertain
    assert ("did not outline a lump" in str(explanation.note("uncertain") or "")) == without_outline
    assert (explanation.scan_caption is None) == outlined
    assert explanation.summary.startswith(SUMMARIES[most_likely, outlined][:40])
    assert "about 73 times in 100" in explanation.accuracy_note and "57 scans" in explanation.accuracy_note
    steps_key = "flagged" if flagged and most_likely != "malignant" else most_likely
    assert explanation.next_steps == NEXT_STEPS[steps_key]
    # the one paragraph the API sends holds all of it, headline first
    assert explanation.text.startswith(explanation.headline)
    assert all(part in explanation.text for part in (explanation.summary, explanation.accuracy_note,
                                                       explanation.scope, *map(str, explanation.notes)))


def test_an_unfamiliar_scan_gets_its_note_after_the_others():
    explanation = explain(predict((0.50, 0.30, 0.20), True), FACTS, settings(), unfamiliar=True)
    assert [note.kind for note in explanation.notes] == ["flag", "uncertain", "unfamiliar"]
    unfamiliar = explanation.note("unfamiliar")
    assert unfamiliar.title == "This scan looks unlike those the model learnt from."
    assert unfamiliar.title not in unfamiliar.text  # said once
    assert str(unfamiliar) in explanation.text


def test_a_normal_the_outline_contradicts_is_told_as_a_possible_lump():
    from app.explain import NORMAL_OVERRULED_HEADLINE

    # normal is most probable, but only normal with nothing outlined is reported normal
    explanation = explain(predict((0.25, 0.05, 0.70), True, normal_max_outline=0.0), FACTS,
                          settings(normal_max_outline=0.0))
    assert explanation.headline == NORMAL_OVERRULED_HEADLINE
    assert "leaned towards normal" in explanation.note("uncertain").text
    assert explanation.next_steps == NEXT_STEPS["benign"]


def test_a_normal_answer_with_an_outline_says_so():
    # the normal rule allows a small outline; the answer stays normal, with the outline as a caveat
    explanation = explain(predict((0.05, 0.05, 0.90), True, normal_max_outline=1.0), FACTS,
                          settings(normal_max_outline=1.0))
    assert "marked a small area as a possible lump" in explanation.note("uncertain").text
    nothing_outlined = explain(predict((0.05, 0.05, 0.90), False), FACTS, settings())
    assert nothing_outlined.note("uncertain") is None


def test_members_that_disagree_are_said():
    # two members: one says benign, the other malignant (flagged at 0.5); the average is benign
    explanation = explain(predict([(0.9, 0.05, 0.05), (0.4, 0.55, 0.05)], True, 0.5), FACTS, settings(0.5))
    assert "do not all give the same answer" in explanation.note("uncertain").text
    assert "no answer reached" not in explanation.note("uncertain").text  # 0.65 on top


def test_the_scope_and_the_figures_come_from_the_card():
    explanation = explain(predict((0.80, 0.10, 0.10), True), FACTS, settings())
    assert explanation.scope.startswith("The model learnt only from scans of a hospital in Japan (scanners: "
                                        "Acme X) and a hospital in Norway (scanners: Acme Y and Acme Z).")
    assert "even when no warning is shown" in explanation.scope
    intro, alpha, beta = explanation.trust
    assert "can be too sure" in intro and "calibrated" not in intro
    assert alpha == ("Japan (Alpha, 40 scans): right about 75 times in 100; its answers given at 80% or more "
                     "(13 scans) were right about 85 times in 100.")
    assert beta == "Norway (Beta, 17 scans): right about 65 times in 100; no answer reached 80%."


@pytest.mark.parametrize("probability, shown", [(1.0, ">99%"), (0.9951, ">99%"), (0.9949, "99%"), (0.5, "50%"),
                                                (0.0051, "1%"), (0.0049, "<1%"), (0.0, "<1%")])
def test_no_percentage_is_ever_0_or_100(app, probability, shown):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert percent(probability) == shown
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert percent(probability).replace("\u202f", " ").replace("\xa0", " ") == shown.replace("%", " %")


@pytest.mark.parametrize("share, said", [(0.0, 0), (0.001, 1), (0.5, 50), (0.996, 99), (1.0, 100)])
def test_a_measured_share_is_said_as_it_was(share, said):
    assert in_100(share) == said


@pytest.mark.parametrize("outlined", [False, True])
def test_normal_states_what_it_misses_and_never_soothes(outlined):
    explanation = explain(predict((0.10, 0.25, 0.65), outlined), FACTS, settings())
    assert "about 12 times in 100" in explanation.summary  # FACTS.lesions_called_normal
    unflagged = explain(predict((0.10, 0.10, 0.80), False), FACTS, settings())
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
    explanation = explain(predict((0.50, 0.30, 0.20), True), FACTS, settings())
    numbers = set(re.findall(r"\d+", " ".join((explanation.text, *explanation.next_steps))))
    assert numbers == {"20", "30", "60", "57", "73", "100"}  # threshold, chance, unsure below, card
    figures = set(re.findall(r"\d+", " ".join(explanation.trust)))
    assert figures == {"40", "75", "80", "13", "85", "17", "65", "100"}  # the card's per-source counts


def test_answer_counts_from_hand_made_arrays():
    labels = np.array([0, 1, 2, 0, 1])
    probabilities = np.array([[0.95, 0.03, 0.02], [0.5, 0.4, 0.1], [0.05, 0.05, 0.9], [0.1, 0.89, 0.01],
                              [0.92, 0.05, 0.03]])
    reported = np.array([0, 1, 2, 1, 0])  # the second reported malignant under the flag
    counts = answer_counts(labels, probabilities, reported)
    assert counts == {"scans": 5, "right": 3, "confident": 3, "confident_right": 2, "confident_at": 0.9}


def test_public_summary_from_hand_made_results():
    # rows true benign/malignant/normal, columns reported; 7 + 2 lesion scans called normal of 30
    busi = {"source": "busi", "split": "test", "classification": {
        "n": 40, "accuracy": 0.65, "confusion": [[12, 3, 5], [1, 7, 2], [1, 2, 7]]},
        "answers": {"scans": 40, "right": 26, "confident": 10, "confident_right": 9, "confident_at": 0.9}}
    busbra = {"source": "busbra", "split": "test", "classification": {
        "n": 10, "accuracy": 0.6, "confusion": [[4, 2, 0], [2, 2, 0], [0, 0, 0]]},
        "answers": {"scans": 10, "right": 6, "confident": 0, "confident_right": 0, "confident_at": 0.9}}
    summary = public_summary([busi, busbra])
    assert summary.accuracy == 32 / 50 and summary.scans == 50
    assert summary.lesions_called_normal == pytest.approx(7 / 40, abs=1e-4)
    assert "test scans of busi and busbra" in summary.evaluated_on
    assert [(s.name, s.country, s.scanners) for s in summary.sources] == [
        ("BUSI", "EG", ("GE LOGIQ E9",)), ("BUS-BRA", "BR", ("GE Logiq 5", "GE Logiq 7"))]
    assert summary.sources[0].confident_accuracy == 0.9 and summary.sources[1].confident_accuracy is None
    assert PublicSummary.from_card({"public_summary": summary.as_card_section()}) == summary
    with pytest.raises(ValueError, match="levels"):
        public_summary([busi, {**busbra, "answers": {**busbra["answers"], "confident_at": 0.8}}])


SOUND = {"accuracy": 0.6, "lesions_called_normal": 0.2, "scans": 9, "evaluated_on": "x", "confident_at": 0.9,
         "sources": [{"name": "A", "country": "EG", "scanners": ["S"], "scans": 9, "right": 5, "confident": 4,
                      "confident_right": 3}]}


def test_a_sound_public_summary_is_read():
    assert PublicSummary.from_card({"public_summary": SOUND}).sources[0].accuracy == 5 / 9


@pytest.mark.parametrize("section", [None, {"accuracy": 0.6}, {**SOUND, "accuracy": 1.4}, {**SOUND, "sources": []},
                                     {**SOUND, "sources": [{**SOUND["sources"][0], "confident_right": 5}]},
                                     {**SOUND, "sources": [{**SOUND["sources"][0], "country": "Egypt"}]},
                                     {**SOUND, "confident_at": 1.0}])
def test_a_card_without_a_sound_public_summary_is_refused(section):
    with pytest.raises(ModelCardError, match="public_summary"):
        PublicSummary.from_card({} if section is None else {"public_summary": section})


def test_the_bundled_card_states_its_own_test_numbers():
    import json

    from inference.paths import MODELS_DIR

    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    stated = PublicSummary.from_card(card)
    tests = [card["metrics"][f"{source}_test"] for source in card["data"]]
    for source, results in zip(stated.sources, tests, strict=True):  # the counts agree with the recorded metrics
        assert source.scans == results["classification"]["n"]
        assert source.right == round(results["classification"]["accuracy"] * source.scans)
    # A card evaluated before answer_counts existed had its summary refilled (python -m training.summary)
    # without them in its metrics: the per-scan confident counts are then the summary's own.
    counted = [{**results, "answers": results.get("answers") or {
        "scans": source.scans, "right": source.right, "confident": source.confident,
        "confident_right": source.confident_right, "confident_at": stated.confident_at}}
        for source, results in zip(stated.sources, tests, strict=True)]
    assert stated == public_summary(counted)
