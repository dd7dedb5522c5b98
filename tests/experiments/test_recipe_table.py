"""Recipe tables: per-seed results merged across runs, mean ± sd computed by hand."""
from experiments import recipe_table
from tests.helpers.recipes import write_results
from training.design_choices import per_seed


def test_merged_runs_keep_every_seed_and_their_logs(tmp_path):
    write_results(tmp_path / "a", [1], [0.5])
    write_results(tmp_path / "b", [2, 3], [0.7, 0.9])
    recipe_table.merge(tmp_path / "merged", [tmp_path / "a", tmp_path / "b"])
    assert sorted(per_seed(tmp_path / "merged")) == ["1", "2", "3"]
    assert (tmp_path / "merged" / "seed2" / "classifier_log.csv").exists()


def test_table_cells_are_mean_and_population_sd_over_seeds(tmp_path):
    write_results(tmp_path / "a", [2, 3], [0.7, 0.9])  # mean 0.8, sd 0.1
    write_results(tmp_path / "b", [1], [0.5])
    lines = recipe_table.table({"new": tmp_path / "a", "old": tmp_path / "b"}).splitlines()
    assert lines[0] == "| validation | new, seeds: 2 | old, seeds: 1 |"
    assert "| busi accuracy | 0.800 ± 0.100 | 0.500 |" in lines
    assert "| busi lesions called normal | n/a | n/a |" in lines
