"""`python -m training record-choice`: a validation comparison recorded in the card and rendered."""
import json
import shutil

import pytest

from inference.paths import MODELS_DIR
from tests.helpers.recipes import write_results
from training import design_choices
from training.__main__ import main


@pytest.fixture
def models(tmp_path):
    shutil.copy(MODELS_DIR / "model_card.json", tmp_path / "model_card.json")
    write_results(tmp_path / "lite", [2, 3], [0.7, 0.9])
    write_results(tmp_path / "b3", [2], [0.5])
    return tmp_path


def record_choice(models, chosen: str, why: str) -> None:
    main(["record-choice", "--models", str(models), "--question", "Which backbone?", "--chosen", chosen,
          "--why", why, f"Lite2={models / 'lite'}", f"B3={models / 'b3'}"])


def test_a_design_choice_is_recorded_in_the_card_and_rendered_with_its_numbers(models):
    with pytest.raises(ValueError, match="not among"):
        record_choice(models, "Lite0", "-")
    for why in ("first wording", "Higher accuracy."):  # the same question twice: the later replaces it
        record_choice(models, "Lite2", why)
    card = json.loads((models / "model_card.json").read_text())
    assert [c["why"] for c in card["design_choices"] if c["question"] == "Which backbone?"] == ["Higher accuracy."]
    readme = (models / "README.md").read_text()
    assert "**Which backbone?** Chosen: Lite2. Higher accuracy." in readme
    assert "| Lite2 (chosen) | 2 | 0.800 ± 0.100 | 0.800 ± 0.100 | 0.800 ± 0.100 | n/a |" in readme
    assert "| B3 | 1 | 0.500 | 0.500 |" in readme


def test_the_card_keeps_each_recipes_folder_seeds_and_mean_and_sd(models):
    assert design_choices.summary(models / "lite") == {
        "folder": str(models / "lite"), "seeds": ["2", "3"],
        "metrics": {"busi": {metric: [pytest.approx(0.8), pytest.approx(0.1)]
                             for metric in design_choices.METRICS if metric != "lesions_called_normal"}}}
