"""Would a second classifier help more than the mirror pass? Validation, per source.

Scores classifier members (the served `.tflite` and `.keras` checkpoints of other seeds, e.g.
from `experiments.classifier_recipe`) on the validation scans masked by the served UNet, each
alone with and without its mirror pass, and averaged in pairs and all together. "A + B" (two
members, no mirror pass) costs what "A, mirror" costs per upload; "A + B, mirror" costs twice
that. Logits are averaged as the mirror pass averages them; metrics use the most probable class,
plus the negative log-likelihood and ECE at the temperature fitted on the same scans (in-sample,
for comparing combinations only). Validation only: no test split is read.

    .venv/bin/python -m experiments.ensemble --data BUSI BUSBRA --members models/classifier.tflite \\
        runs/recipes/ens/seed2/classifier_best.keras runs/recipes/ens/seed3/classifier_best.keras \\
        --out experiments/results/ensemble
"""
from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from inference.paths import MODELS_DIR
from inference.pipeline import CARD_FILE, UNET_FILE, mirrored_input
from inference.postprocessing import softmax
from inference.preprocessing import classifier_input
from inference.settings import InferenceSettings
from training.evaluate import classification_metrics
from training.metrics import expected_calibration_error, negative_log_likelihood
from training.models import model_file
from training.sources import Source, load_split_data
from training.train import predict_square_masks
from training.validation_choices import fit_temperature

SHOWN = ("accuracy", "macro_f1", "malignant_recall", "benign_vs_malignant_auc", "lesions_called_normal")


def member_logits(path: Path, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(plain, mirrored) logits of one classifier member on every validation input."""
    model = model_file(path)
    plain = np.stack([model(x[None]) for x in inputs])
    mirrored = np.stack([model(mirrored_input(x[None])) for x in inputs])
    return plain, mirrored


def combinations(names: list[str], logits: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Averaged logits of each member alone (with and without its mirror pass), of each pair
    (without, then with mirror passes) and of all members with mirror passes."""
    combos = {}
    for name in names:
        combos[name] = logits[name][0]
        combos[f"{name}, mirror"] = (logits[name][0] + logits[name][1]) / 2
    for size in range(2, len(names) + 1):
        for group in itertools.combinations(names, size):
            if size == 2:
                combos[" + ".join(group)] = np.mean([logits[n][0] for n in group], axis=0)
            combos[" + ".join(group) + ", mirror"] = np.mean([(logits[n][0] + logits[n][1]) / 2 for n in group], axis=0)
    return combos


def scores(logits: np.ndarray, labels: np.ndarray, sources: np.ndarray) -> dict:
    """Per-source metrics of the most probable class, and the pooled temperature's NLL and ECE."""
    temperature = fit_temperature(logits, labels)
    calibrated = softmax(logits, temperature)
    result = {"temperature": temperature,
              "nll": negative_log_likelihood(calibrated, labels)}
    for source in dict.fromkeys(sources):
        rows = sources == source
        metrics = classification_metrics(labels[rows], softmax(logits[rows]))
        result[source] = {**{k: metrics[k] for k in SHOWN},
                          "ece_pooled_temperature": expected_calibration_error(calibrated[rows], labels[rows])}
    return result


def markdown(results: dict) -> str:
    """The table in docs/models.md: one row per combination, per source accuracy, macro-F1, AUC and ECE."""
    sources = [k for k in next(iter(results.values())) if k not in ("temperature", "nll")]
    header = "| validation | NLL (pooled T) | " + " | ".join(
        f"{s} accuracy | {s} macro-F1 | {s} B-vs-M AUC | {s} ECE" for s in sources) + " |"
    lines = [header, "|---|" + "---:|" * (1 + 4 * len(sources))]
    for combo, result in results.items():
        metrics = ("accuracy", "macro_f1", "benign_vs_malignant_auc", "ece_pooled_temperature")
        cells = [f"{result['nll']:.3f}"] + [f"{result[s][k]:.3f}" for s in sources for k in metrics]
        lines.append(f"| {combo} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", help="data-set folders (BUSI, BUS-BRA)")
    parser.add_argument("--table", type=Path, help="only print the table of an earlier run's --out folder")
    parser.add_argument("--members", nargs="+", type=Path, help="classifier .tflite / .keras files")
    parser.add_argument("--models", type=Path, default=MODELS_DIR, help="the served UNet and card")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.table:
        return print(markdown(json.loads((args.table / "results.json").read_text())["results"]))
    if not (args.data and args.members and args.out):
        parser.error("--data, --members and --out are needed to score members")

    card = json.loads((args.models / CARD_FILE).read_text())
    settings = replace(InferenceSettings.from_card(card), temperature=1.0, malignant_threshold=1.0)
    val = load_split_data([Source.open(root) for root in args.data], "val", settings.square_size)
    masks = predict_square_masks(settings, model_file(args.models / UNET_FILE), val.squares)
    inputs = np.stack([classifier_input(settings, s, m) for s, m in zip(val.squares, masks, strict=True)])
    names = [chr(ord("A") + i) for i in range(len(args.members))]
    logits = {name: member_logits(path, inputs) for name, path in zip(names, args.members, strict=True)}
    results = {combo: scores(values, val.labels, np.array(val.sources))
               for combo, values in combinations(names, logits).items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {"members": dict(zip(names, map(str, args.members), strict=True)), "results": results}, indent=1) + "\n")
    np.savez_compressed(args.out / "logits.npz", labels=val.labels, sources=np.array(val.sources),
                        **{f"{n}_{view}": logits[n][i] for n in names for i, view in enumerate(("plain", "mirrored"))})
    print(markdown(results))


if __name__ == "__main__":
    main()
