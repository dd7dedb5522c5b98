"""Evaluation report on a held-out split, run through the app's own inference pipeline."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

from inference.pipeline import CARD_FILE, MALIGNANT, Pipeline, ensemble_probabilities  # noqa: E402
from inference.public_summary import SECTION  # noqa: E402
from inference.settings import CLASS_NAMES  # noqa: E402
from training import card as model_card  # noqa: E402
from training import data  # noqa: E402
from training.metrics import dice, expected_calibration_error, iou, pixel_accuracy, reliability_bins  # noqa: E402
from training.sources import Source  # noqa: E402
from training.summary import answer_counts, public_summary  # noqa: E402
from training.validation_choices import ValidationScans, caveat_figures, member_figures  # noqa: E402

NORMAL = CLASS_NAMES.index("normal")

def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, predicted: np.ndarray | None = None) -> dict:
    """Accuracy, per-class precision/recall/F1, macro-F1, malignant recall, one-vs-rest ROC AUC.

    `predicted` is the reported class per image (default: the most probable one).
    """
    predicted = probabilities.argmax(axis=1) if predicted is None else predicted
    present = np.unique(labels)  # BUS-BRA has no normal scans: its metrics use the classes it has
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        labels, predicted, labels=range(len(CLASS_NAMES)), zero_division=0)
    one_hot = np.eye(len(CLASS_NAMES))[labels]
    lesion = labels != NORMAL
    return {
        "n": int(len(labels)),
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "macro_f1": float(f1[present].mean()),
        "malignant_recall": float(recall[MALIGNANT]),
        "roc_auc_macro": float(np.mean([skm.roc_auc_score(one_hot[:, k], probabilities[:, k]) for k in present]))
        if len(present) > 1 else None,
        "benign_vs_malignant_auc":
            float(skm.roc_auc_score(labels[lesion] == MALIGNANT, probabilities[lesion, MALIGNANT]))
            if len(np.unique(labels[lesion])) == 2 else None,
        # the dangerous error: a benign or malignant lesion reported as a normal scan
        "lesions_called_normal": float(np.mean(predicted[lesion] == NORMAL)) if lesion.any() else None,
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(CLASS_NAMES, precision, recall, f1, support, strict=True)},
        "confusion": skm.confusion_matrix(labels, predicted, labels=range(len(CLASS_NAMES))).tolist(),
        "ece": expected_calibration_error(probabilities, labels),
    }


def segmentation_metrics(pred_masks, true_masks, labels) -> dict:
    """Dice/IoU over lesion images, pixel accuracy over all, false-lesion rate over normals."""
    lesion = [i for i, y in enumerate(labels) if CLASS_NAMES[y] != "normal"]
    normal = [i for i, y in enumerate(labels) if CLASS_NAMES[y] == "normal"]
    return {
        "dice_lesion_images": float(np.mean([dice(pred_masks[i], true_masks[i]) for i in lesion])),
        "iou_lesion_images": float(np.mean([iou(pred_masks[i], true_masks[i]) for i in lesion])),
        "pixel_accuracy": float(np.mean([pixel_accuracy(p, t) for p, t in zip(pred_masks, true_masks, strict=True)])),
        "false_lesion_rate_normal": float(np.mean([pred_masks[i].any() for i in normal])) if normal else None,
    }


def missed_lesion_metrics(pipeline: Pipeline, images, labels) -> dict | None:
    """What the served classifier says about each lesion scan when its mask is empty.

    The UNet misses some lesions, and will miss more on other scanners: this measures how much
    the answer then rests on the scan itself rather than on the mask (a triage app that calls
    every unsegmented cancer normal fails exactly where the segmenter does).
    """
    lesion = np.flatnonzero(labels != CLASS_NAMES.index("normal"))
    if not len(lesion):
        return None
    squares = [pipeline.square(images[i]) for i in lesion]
    labels_given = [pipeline.decide(pipeline.probabilities(pipeline.classifier_logits(s, np.zeros(s.shape, bool))))
                    .label for s in squares]
    predicted = np.array([CLASS_NAMES.index(label) for label in labels_given])
    cancers = labels[lesion] == MALIGNANT
    return {"lesion_scans": int(len(lesion)),
            "called_normal": float(np.mean(predicted == CLASS_NAMES.index("normal"))),
            "cancers_flagged": float(np.mean(predicted[cancers] == MALIGNANT)) if cancers.any() else None}


def _plot_confusion(matrix, title, path):
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(3), CLASS_NAMES)
    ax.set_yticks(range(3), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (r, c), v in np.ndenumerate(np.array(matrix)):
        ax.text(c, r, str(v), ha="center", va="center", color="black" if v < np.max(matrix) / 2 else "white")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_roc(labels, probabilities, path):
    fig, ax = plt.subplots(figsize=(4.2, 4))
    for k in np.unique(labels) if len(np.unique(labels)) > 2 else [MALIGNANT]:
        name = CLASS_NAMES[k]
        fpr, tpr, _ = skm.roc_curve(labels == k, probabilities[:, k])
        ax.plot(fpr, tpr, label=f"{name} (AUC {skm.auc(fpr, tpr):.2f})")
    _finish_diagonal_plot(fig, ax, "false positive rate", "true positive rate", "ROC, one class vs rest",
                          "lower right", path)


def _plot_reliability(labels, uncalibrated, calibrated, path):
    fig, ax = plt.subplots(figsize=(4.2, 4))
    for probs, name in ((uncalibrated, "before"), (calibrated, "after")):
        rows = reliability_bins(probs, labels)
        ax.plot([r[2] for r in rows], [r[1] for r in rows], "o-",
                label=f"{name} (ECE {expected_calibration_error(probs, labels):.3f})")
    _finish_diagonal_plot(fig, ax, "confidence", "accuracy", "Reliability, temperature scaling", "upper left", path)


def _finish_diagonal_plot(fig, ax, xlabel, ylabel, title, legend_loc, path):
    """Chance/ideal diagonal, labels and legend, then save (ROC and reliability plots share this)."""
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc=legend_loc, fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_overlays(samples, images, true_masks, pred_masks, probabilities, predicted, path, per_class: int = 2):
    import cv2

    chosen = [i for name in CLASS_NAMES for i in [j for j, s in enumerate(samples) if s.label == name][:per_class]]
    fig, axes = plt.subplots(1, len(chosen), figsize=(2.6 * len(chosen), 2.9))
    for ax, i in zip(np.atleast_1d(axes), chosen, strict=True):
        rgb = cv2.cvtColor(images[i], cv2.COLOR_GRAY2RGB)
        for mask, colour in ((true_masks[i], (0, 200, 0)), (pred_masks[i], (255, 200, 0))):
            contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(rgb, contours, -1, colour, max(2, images[i].shape[1] // 200))
        ax.imshow(rgb)
        guess = CLASS_NAMES[int(predicted[i])]
        ax.set_title(f"{samples[i].label} → {guess} {probabilities[i][predicted[i]]:.2f}", fontsize=8)
        ax.axis("off")
    fig.suptitle("green: ground truth, yellow: predicted", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def checkpoint_metrics(pipeline: Pipeline, run_dir: Path, stage: str, images, labels) -> dict | None:
    """A classifier stage trained beside the bundled one but not bundled ("baseline": raw scans;
    "classifier_busi_only": BUSI alone), run on the served UNet's masks with the served
    settings but uncalibrated, its label the most probable class: the stage's ensemble members
    where it has them, else its best checkpoint."""
    import keras

    from training.export import ensemble_model
    from training.models import keras_runner
    from training.train import member_paths

    paths = member_paths(run_dir, stage) or [run_dir / f"{stage}_best.keras"]
    if not paths[0].exists():
        return None
    models = [keras.models.load_model(path, compile=False) for path in paths]
    kind = "raw" if stage == "baseline" else pipeline.settings.classifier_input
    other = Pipeline(pipeline.segmenter, keras_runner(ensemble_model(models) if len(models) > 1 else models[0]),
                     replace(pipeline.settings, classifier_input=kind, temperature=1.0))
    probabilities = [other.probabilities(other.classifier_logits(square, other.square_lesion_mask(square)))
                     for square in map(other.square, images)]
    return classification_metrics(labels, np.stack(probabilities))


def write_reports(sources: list[Source], models_dir: Path, run_dir: Path, report_dir: Path, split: str = "test"):
    """Score the bundled models on `split` of every source: a report folder per source
    (`reports/<source>/` for test, `reports/<split>/<source>/` otherwise) and the card's metrics."""
    pipeline = Pipeline.load(models_dir)
    card_path = models_dir / CARD_FILE
    evaluated = []
    for source in sources:
        folder = report_dir / source.name if split == "test" else report_dir / split / source.name
        results = evaluate_source(pipeline, source, run_dir, folder, split)
        evaluated.append(results)
        card = json.loads(card_path.read_text())
        (folder / "README.md").write_text(model_card.render_report(results, card))
        card.setdefault("metrics", {})[f"{source.name}_{split}"] = results
        card_path.write_text(json.dumps(card, indent=1) + "\n")
        print(model_card.render_report(results, card), flush=True)
    if split == "test":
        card = json.loads(card_path.read_text())
        card[SECTION] = public_summary(evaluated).as_card_section()
        card_path.write_text(json.dumps(card, indent=1) + "\n")
    model_card.write(models_dir)


def evaluate_source(pipeline: Pipeline, source: Source, run_dir: Path, folder: Path, split: str) -> dict:
    """Every metric of the report for one source's split, with its plots in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    samples, images, true_masks = data.load_split(source.root, source.manifest, split)
    labels = np.array([CLASS_NAMES.index(s.label) for s in samples])
    predictions = [pipeline.predict_gray(img) for img in images]
    logits = np.stack([p.logits for p in predictions])
    calibrated, uncalibrated = pipeline.probabilities(logits), ensemble_probabilities(logits, 1.0)
    pred_masks = [p.mask for p in predictions]
    predicted = np.array([CLASS_NAMES.index(p.label) for p in predictions])
    results = {"source": source.name, "split": split,
               "classification": classification_metrics(labels, calibrated, predicted),
               "answers": answer_counts(labels, calibrated, predicted),
               "most_probable_class": classification_metrics(labels, calibrated),
               "malignant_threshold": pipeline.settings.malignant_threshold,
               "ece_uncalibrated": expected_calibration_error(uncalibrated, labels),
               "segmentation": segmentation_metrics([p.segmentation for p in predictions], true_masks, labels),
               "shown_mask": segmentation_metrics(pred_masks, true_masks, labels),
               "baseline_raw_images": checkpoint_metrics(pipeline, run_dir, "baseline", images, labels),
               "trained_on_busi_alone": checkpoint_metrics(pipeline, run_dir, "classifier_busi_only", images, labels)
               if source.name == "busi" else None,
               "lesion_mask_removed": missed_lesion_metrics(pipeline, images, labels)}
    scans = ValidationScans(np.array([source.name] * len(labels)), labels, logits,
                            np.array([p.outline_fraction for p in predictions]),
                            np.array([dice(p.segmentation, t) if y != NORMAL else np.nan
                                      for p, t, y in zip(predictions, true_masks, labels, strict=True)]))
    results["caveats"] = caveat_figures(pipeline.settings, scans)[source.name]
    results["ensemble_members"] = member_figures(pipeline.settings, scans)[source.name]
    _plot_confusion(results["classification"]["confusion"], f"{source.name} {split}", folder / "confusion.png")
    if results["baseline_raw_images"]:
        _plot_confusion(results["baseline_raw_images"]["confusion"], f"raw scans, {source.name} {split}",
                        folder / "confusion_baseline.png")
    _plot_roc(labels, calibrated, folder / "roc.png")
    _plot_reliability(labels, uncalibrated, calibrated, folder / "reliability.png")
    _plot_overlays(samples, images, true_masks, pred_masks, calibrated, predicted, folder / "overlays.png")
    (folder / f"metrics_{split}.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
