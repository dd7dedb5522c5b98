"""Markdown tables of classifier-recipe comparisons (mean ± sd over seeds, per source).

Each folder holds a `results.json` written by `experiments.classifier_recipe` (a list of
per-seed results) or merged from several of its runs (`merge`: per-seed results keyed by
seed), so the docs' tables are printed from the committed results, never copied by hand.
`python -m training record-choice` records such a comparison in the model card.

    .venv/bin/python -m experiments.recipe_table merge experiments/results/x runs/recipes/x_s1 runs/recipes/x_s2
    .venv/bin/python -m experiments.recipe_table table bundled=experiments/results/a gamma=experiments/results/b
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from training import card as model_card
from training.design_choices import METRICS, per_seed


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
    args = parser.parse_args()
    if args.command == "merge":
        return merge(args.out, args.runs)
    print(table({name: Path(folder) for name, folder in (c.split("=", 1) for c in args.columns)}))


if __name__ == "__main__":
    main()
