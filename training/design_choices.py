"""Design choices recorded in the model card: a question, the recipe chosen, why, and the validation
comparison behind it (`python -m training record-choice`).

Each compared recipe is a results folder (`results.json`, as `experiments.classifier_recipe` writes
it or `experiments.recipe_table merge` merges it: per-seed results, per source); the card keeps each
one's mean and standard deviation over its seeds, so the card's tables are computed, never copied.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training import card as model_card

METRICS = ("accuracy", "macro_f1", "malignant_recall", "benign_vs_malignant_auc", "lesions_called_normal")


def per_seed(folder: Path) -> dict[str, dict]:
    """{seed: {source: metrics}} of a results folder."""
    results = json.loads((folder / "results.json").read_text())
    if isinstance(results["per_seed"], dict):
        return results["per_seed"]
    seeds = json.loads(results["args"]["seeds"])
    return {str(seed): result for seed, result in zip(seeds, results["per_seed"], strict=True)}


def summarize(results: list[dict], metrics: tuple[str, ...] = METRICS) -> dict[str, dict[str, list[float]]]:
    """Per source and metric: [mean, standard deviation] over the seeds (metrics some seed
    could not measure are left out)."""
    return {source: {k: [float(np.mean(v)), float(np.std(v))]
                     for k in metrics if None not in (v := [r[source][k] for r in results])}
            for source in results[0]}


def summary(folder: Path) -> dict:
    """What the model card records of one recipe: its folder, seeds and per-source summary."""
    seeds = per_seed(folder)
    return {"folder": str(folder), "seeds": list(seeds), "metrics": summarize(list(seeds.values()))}


def record(models_dir: Path, question: str, chosen: str, why: str, recipes: dict[str, dict]) -> None:
    """Add (or replace) one validation comparison behind a design choice in the card, and
    re-render it. `recipes`: per recipe, its `summary`."""
    if chosen not in recipes:
        raise ValueError(f"the chosen recipe {chosen!r} is not among those compared: {', '.join(recipes)}")
    path = models_dir / "model_card.json"
    card = json.loads(path.read_text())
    choices = [c for c in card.get("design_choices", []) if c["question"] != question]
    card["design_choices"] = choices + [{"question": question, "chosen": chosen, "why": why, "recipes": recipes}]
    path.write_text(json.dumps(card, indent=1) + "\n")
    model_card.write(models_dir)
