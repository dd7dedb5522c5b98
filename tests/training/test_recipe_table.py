"""Recipe tables: per-seed results merged across runs, mean ± sd computed by hand."""
import json

from benchmarks import recipe_table


def write_run(folder, seeds, accuracies):
    """A results folder as benchmarks.classifier_recipe writes it (one source, one metric set)."""
    folder.mkdir(parents=True)
    results = [{"busi": {metric: None if metric == "lesions_called_normal" else accuracy
                         for metric in recipe_table.METRICS}} for accuracy in accuracies]
    (folder / "results.json").write_text(json.dumps({"args": {"seeds": str(seeds)}, "per_seed": results}))
    (folder / f"seed{seeds[0]}").mkdir()
    (folder / f"seed{seeds[0]}" / "classifier_log.csv").write_text("epoch\n0\n")


def test_merged_runs_keep_every_seed_and_their_logs(tmp_path):
    write_run(tmp_path / "a", [1], [0.5])
    write_run(tmp_path / "b", [2, 3], [0.7, 0.9])
    recipe_table.merge(tmp_path / "merged", [tmp_path / "a", tmp_path / "b"])
    assert sorted(recipe_table.per_seed(tmp_path / "merged")) == ["1", "2", "3"]
    assert (tmp_path / "merged" / "seed2" / "classifier_log.csv").exists()


def test_table_cells_are_mean_and_population_sd_over_seeds(tmp_path):
    write_run(tmp_path / "a", [2, 3], [0.7, 0.9])  # mean 0.8, sd 0.1
    write_run(tmp_path / "b", [1], [0.5])
    lines = recipe_table.table({"new": tmp_path / "a", "old": tmp_path / "b"}).splitlines()
    assert lines[0] == "| validation | new, seeds: 2 | old, seeds: 1 |"
    assert "| busi accuracy | 0.800 ± 0.100 | 0.500 |" in lines
    assert "| busi lesions called normal | n/a | n/a |" in lines


def test_a_design_choice_is_recorded_in_the_card_and_rendered_with_its_numbers(tmp_path):
    import shutil

    import pytest

    from inference.paths import MODELS_DIR
    from training import card as model_card

    shutil.copy(MODELS_DIR / "model_card.json", tmp_path / "model_card.json")
    write_run(tmp_path / "lite", [2, 3], [0.7, 0.9])
    write_run(tmp_path / "b3", [2], [0.5])
    recipes = {"Lite2": recipe_table.summary(tmp_path / "lite"), "B3": recipe_table.summary(tmp_path / "b3")}
    with pytest.raises(ValueError, match="not among"):
        model_card.record_design_choice(tmp_path, "Which backbone?", "Lite0", "-", recipes)
    for why in ("first wording", "Higher accuracy."):  # the same question twice: the later replaces it
        model_card.record_design_choice(tmp_path, "Which backbone?", "Lite2", why, recipes)
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert [c["why"] for c in card["design_choices"] if c["question"] == "Which backbone?"] == ["Higher accuracy."]
    readme = (tmp_path / "README.md").read_text()
    assert "**Which backbone?** Chosen: Lite2. Higher accuracy." in readme
    assert "| Lite2 (chosen) | 2 | 0.800 ± 0.100 | 0.800 ± 0.100 | 0.800 ± 0.100 | n/a |" in readme
    assert "| B3 | 1 | 0.500 | 0.500 |" in readme
