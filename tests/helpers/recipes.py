"""Results folders of recipe trials, as `experiments.classifier_recipe` writes them."""
from __future__ import annotations

import json
from pathlib import Path

from training.design_choices import METRICS


def write_results(folder: Path, seeds: list[int], accuracies: list[float]) -> None:
    """One source, one value per seed for every metric but lesions called normal (not measured)."""
    folder.mkdir(parents=True)
    results = [{"busi": {metric: None if metric == "lesions_called_normal" else accuracy for metric in METRICS}}
               for accuracy in accuracies]
    (folder / "results.json").write_text(json.dumps({"args": {"seeds": str(seeds)}, "per_seed": results}))
    (folder / f"seed{seeds[0]}").mkdir()
    (folder / f"seed{seeds[0]}" / "classifier_log.csv").write_text("epoch\n0\n")
