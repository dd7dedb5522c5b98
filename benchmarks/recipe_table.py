"""Markdown tables of classifier-recipe comparisons (mean ± sd over seeds, per source).

Each folder holds a `results.json` written by `benchmarks.classifier_recipe` (a list of
per-seed results) or merged from several of its runs (`merge`: per-seed results keyed by
seed), so the README's tables are printed from the committed results, never copied by hand.

    .venv/bin/python -m benchmarks.recipe_table merge reports/recipes/x runs/recipes/x_s1 runs/recipes/x_s2
    .venv/bin/python -m benchmarks.recipe_table table bundled=reports/recipes/a gamma=reports/recipes/b
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from inference.paths import MODELS_DIR
from training import card as model_card

METRICS = ("accuracy", "macro_f1", "malignant_recall", "benign_vs_malignant_auc", "lesions_called_normal")


def per_seed(folder: Path) -> dict[str, dict]:
    """{seed: {source: metrics}} of a results folder."""
    results = json.loads((folder / "results.json").read_text())
    if isinstance(results["per_seed"], dict):
        return results["per_seed"]
    seeds = json.loads(results["args"]["seeds"])
    return {str(seed): result for seed, result in zip(seeds, results["per_seed"])}


def merge(out: Path, runs: list[Path]) -> None:
    """One folder for several runs of one recipe: their args, per-seed results and logs."""
    out.mkdir(parents=True, exist_ok=True)
    merged = {"runs": [], "per_seed": {}}
    for run in runs:
        results = json.loads((run / "results.json").read_text())
        merged["runs"] += results["runs"] if "runs" in results else [results["args"]]  # merged before, or one run
        merged["per_seed"].update(per_seed(run))
        for seed_dir in run.glob("seed*"):
            target = out / seed_dir.name
            target.mkdir(exist_ok=True)
            for log in seed_dir.glob("*_log.csv"):
                shutil.copy(log, target / log.name)
    (out / "results.json").write_text(json.dumps(merged, indent=1) + "\n")


def summarize(results: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Per source and metric: [mean, standard deviation] over the seeds (metrics some seed
    could not measure are left out)."""
    return {source: {k: [float(np.mean(v)), float(np.std(v))]
                     for k in METRICS if None not in (v := [r[source][k] for r in results])}
            for source in results[0]}


def summary(folder: Path) -> dict:
    """What the model card records of one recipe: its folder, seeds and per-source summary."""
    seeds = per_seed(folder)
    return {"folder": str(folder), "seeds": list(seeds), "metrics": summarize(list(seeds.values()))}


def cell(values: list[float | None]) -> str:
    values = [v for v in values if v is not None]
    return model_card.mean_sd([float(np.mean(values)), float(np.std(values))] if values else None, len(values))


def table(columns: dict[str, Path], metrics: tuple[str, ...] = METRICS) -> str:
    """Rows: source × metric; columns: recipes; cells: mean ± sd over each recipe's seeds."""
    results = {name: per_seed(folder) for name, folder in columns.items()}
    sources = list(next(iter(next(iter(results.values())).values())))
    header = "| validation | " + " | ".join(f"{name}, seeds: {len(r)}" for name, r in results.items()) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    for source in sources:
        for metric in metrics:
            cells = [cell([seed[source][metric] for seed in r.values()]) for r in results.values()]
            lines.append(f"| {source} {metric.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    merging = commands.add_parser("merge", help="merge runs of one recipe into one folder")
    merging.add_argument("out", type=Path)
    merging.add_argument("runs", type=Path, nargs="+")
    tabling = commands.add_parser("table", help="print a Markdown table of recipes")
    tabling.add_argument("columns", nargs="+", help="name=folder")
    choosing = commands.add_parser("choice", help="record a design choice and its comparison in the model card")
    choosing.add_argument("--models", type=Path, default=MODELS_DIR)
    choosing.add_argument("--question", required=True)
    choosing.add_argument("--chosen", required=True, help="the name of the bundled recipe")
    choosing.add_argument("--why", required=True)
    choosing.add_argument("columns", nargs="+", help="name=folder")
    args = parser.parse_args()
    if args.command == "merge":
        return merge(args.out, args.runs)
    columns = {name: Path(folder) for name, folder in (c.split("=", 1) for c in args.columns)}
    if args.command == "table":
        return print(table(columns))
    recipes = {name: summary(folder) for name, folder in columns.items()}
    model_card.record_design_choice(args.models, args.question, args.chosen, args.why, recipes)


if __name__ == "__main__":
    main()
