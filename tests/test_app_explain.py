"""The plain-language texts: one set per class, calm, and no numbers we cannot stand behind."""
from __future__ import annotations

import re

import pytest

from app.explain import CLASS_TITLES, DISCLAIMER, UNCERTAIN_BELOW, explain
from inference.settings import CLASS_NAMES


@pytest.mark.parametrize("label", CLASS_NAMES)
def test_every_class_has_texts_without_statistics(label):
    explanation = explain(label, {name: 0.9 if name == label else 0.05 for name in CLASS_NAMES})
    assert explanation.headline and explanation.summary and len(explanation.next_steps) >= 2
    assert not explanation.uncertain
    for text in (explanation.text, *explanation.next_steps, DISCLAIMER, CLASS_TITLES[label]):
        assert not re.search(r"\d", text), f"a number in {text!r}"


def test_malignant_is_urgent_and_names_the_next_tests():
    steps = " ".join(explain("malignant", {"benign": 0.1, "malignant": 0.8, "normal": 0.1}).next_steps)
    assert "doctor soon" in steps
    assert "diagnostic mammogram" in steps and "biopsy" in steps


def test_low_top_probability_is_flagged_uncertain():
    just_below = UNCERTAIN_BELOW - 0.01
    explanation = explain("benign", {"benign": just_below, "malignant": 1 - just_below - 0.1, "normal": 0.1})
    assert explanation.uncertain
    assert "The model is uncertain" in explanation.text
    assert not explain("benign", {"benign": UNCERTAIN_BELOW, "malignant": 0.3, "normal": 0.1}).uncertain


def test_malignant_flagged_below_the_top_class_says_so_with_its_chance():
    explanation = explain("malignant", {"benign": 0.55, "malignant": 0.35, "normal": 0.1})
    assert "Another answer is more likely" in explanation.summary and "35%" in explanation.summary
    assert explanation.uncertain
    assert "Another answer" not in explain("malignant", {"benign": 0.3, "malignant": 0.6, "normal": 0.1}).summary
