"""The model card (models/README.md) and the evaluation report, rendered from their JSON through
the templates in training/templates, so every number and setting they state comes from a run."""
from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"
# The original report's numbers, which the evaluation report compares with.
ORIGINAL_REPORT = {"accuracy_raw_images": 0.4201, "unet_pixel_accuracy": 0.9581, "accuracy_masked": 0.8639,
                   "malignant_recall_masked": 0.79}


def _pct(value, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def mean_sd(summary: list[float] | None, seeds: int) -> str:
    """A recipe's [mean, sd] over its seeds as a table cell; one run has no spread to show."""
    if summary is None:
        return "n/a"
    return f"{summary[0]:.3f}" if seeds == 1 else f"{summary[0]:.3f} ± {summary[1]:.3f}"


def _render(template: str, **context) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)
    environment.filters.update(pct=_pct, pct2=lambda value: _pct(value, 2),
                               f3=lambda value: "n/a" if value is None else f"{value:.3f}", mean_sd=mean_sd)
    return environment.get_template(template).render(**context)


def render(card: dict) -> str:
    """models/README.md for a model_card.json (with the metrics `evaluate` added to it)."""
    metrics = card.get("metrics", {})

    def per_split(key: str) -> dict:
        """`key`'s result for each split where the evaluation measured it."""
        return {split: result[key] for split, result in sorted(metrics.items()) if result.get(key)}

    return _render("model_card.md.j2", card=card, metrics=sorted(metrics.items()), metrics_by_split=metrics,
                   per_split=per_split)


def render_report(results: dict, card: dict) -> str:
    """reports/<split>/README.md for one split's evaluation results."""
    return _render("evaluation_report.md.j2", results=results, card=card, original=ORIGINAL_REPORT)


def add_wall_time(models_dir: Path, step: str, seconds: float) -> None:
    """Record a step after training (export, evaluation, input check) in the card's wall times,
    so the card states what the whole retrain cost; the Markdown card follows."""
    path = models_dir / "model_card.json"
    card = json.loads(path.read_text())
    card.setdefault("training_wall_time_minutes", {})[step] = round(seconds / 60, 1)
    path.write_text(json.dumps(card, indent=1) + "\n")
    write(models_dir)


def write(models_dir: Path) -> None:
    card = json.loads((models_dir / "model_card.json").read_text())
    (models_dir / "README.md").write_text(render(card))

