"""Render models/README.md (the model card) from model_card.json, so its numbers come from runs."""
from __future__ import annotations

import json
from pathlib import Path


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _metrics_rows(metrics: dict) -> list[str]:
    rows = []
    for split, result in sorted(metrics.items()):
        c, s = result["classification"], result["segmentation"]
        rows.append(f"| {split} | {c['n']} | {_pct(c['accuracy'])} | {c['macro_f1']:.3f} | "
                    f"{c['malignant_recall']:.3f} | {c['roc_auc_macro']:.3f} | {result['ece_uncalibrated']:.3f} → "
                    f"{c['ece']:.3f} | {s['dice_lesion_images']:.3f} | {s['iou_lesion_images']:.3f} | "
                    f"{_pct(s['false_lesion_rate_normal'])} |")
    return rows


def _per_split(metrics: dict, key: str) -> dict:
    """`key`'s result for each split where the evaluation measured it."""
    return {split: result[key] for split, result in sorted(metrics.items()) if result.get(key)}


def _baseline_lines(metrics: dict) -> list[str]:
    """The raw-image baseline (same classifier and settings, no mask), where it was evaluated."""
    found = _per_split(metrics, "baseline_raw_images")
    if not found:
        return []
    return ["Baseline, the same EfficientNetB3 trained and scored on raw images (not bundled): " + "; ".join(
        f"{split} accuracy {_pct(b['accuracy'])}, macro-F1 {b['macro_f1']:.3f}, malignant recall "
        f"{b['malignant_recall']:.3f}, ROC AUC {b['roc_auc_macro']:.3f}" for split, b in found.items()) + ".", ""]


def _mask_reliance_line(metrics: dict) -> list[str]:
    """How the classifier answers lesion scans with an empty mask, where that was measured."""
    found = _per_split(metrics, "lesion_mask_removed")
    if not found:
        return []
    return ["- The classifier leans on the UNet's mask: with the mask emptied, as when the UNet misses a lesion, " + "; ".join(
        f"{split}: lesion scans called normal {_pct(m['called_normal'])}, cancers flagged {_pct(m['cancers_flagged'])}"
        for split, m in found.items()) + ". That is why the app's normal result tells anyone scanned "
        "because of a symptom to see a doctor anyway."]


def _decision_lines(decision: dict | None) -> list[str]:
    """How the reported label follows from the probabilities (labels and metrics above use it)."""
    if not decision:
        return []
    return [f"Reported label: {decision['rule']}; malignant threshold {decision['malignant_threshold']:.3f}, "
            f"the highest that finds {decision['malignant_recall_target_on_validation']:.0%} of the validation "
            f"cancers but never below {decision['minimum_threshold']} (a missed cancer costs more than a second "
            f"look at a benign lump; a calibrated chance of {decision['minimum_threshold']:.0%} already warrants a "
            "doctor's look).", ""]


def _weights_text(weights: str) -> str:
    return "none (trained from scratch)" if weights == "none" else weights


def render(card: dict) -> str:
    wall = card.get("training_wall_time_minutes", {})
    agreement = card.get("litert_vs_keras", {})
    counts = card["data"]["counts"]
    lines = [
        "# Model card: BUSI lesion segmenter + mask-conditioned classifier",
        "",
        f"Version `{card['version']}`, exported {card['created']}. Generated from `model_card.json` by "
        "`python -m training evaluate`; do not edit by hand.",
        "",
        "## What it is for",
        "",
        "Triage support in a patient-facing web app: outline a lesion in a breast-ultrasound B-mode image "
        "and estimate benign / malignant / normal with calibrated probabilities. **Not a diagnosis and not "
        "a medical device.** It was trained on one public data set from one hospital (Cairo, 2018) and has "
        "not been validated on other scanners, populations or clinical workflows.",
        "",
        "## Models",
        "",
        f"1. **UNet** (`unet.tflite`): 5 levels, 16–256 filters, input {card['input']['unet']}×"
        f"{card['input']['unet']} grayscale in [0, 1], sigmoid lesion probability; Dice + BCE loss. Its "
        "probability map is resized to the scan; blobs under 0.25% of the frame or with mean probability "
        "under 0.75 are dropped (chosen on validation).",
        f"2. **EfficientNetB3** (`classifier.tflite`, `keras.applications`), input "
        f"{card['input']['classifier']}×{card['input']['classifier']}×3 in [0, 255]: channels "
        f"{', '.join(card['input']['classifier_channels'])}. Dropout 0.4 and L2 1e-4 on the 3-way head. "
        f"Backbone weights: **{_weights_text(card['model']['weights'])}** (ImageNet weights could not be downloaded where it was "
        "trained; `--weights imagenet` uses them where they can be had).",
        "",
        *(["At inference the classifier's logits are averaged over the input and its mirror image "
           "(`benchmarks/ablation_val.py` measures the effect on validation).", ""]
          if card.get("inference", {}).get("flip_average") else []),
        "The classifier was trained on ground-truth masks perturbed to look like UNet output (eroded or "
        "dilated edges, missed lesions, spurious blobs at the rate the UNet makes them on validation) and "
        "validated, calibrated and tested on **UNet-predicted masks only**.",
        "",
        "## Data and split",
        "",
        f"BUSI development copy (Al-Dhabyani et al., *Data in Brief* 28, 2020; CC0). Split manifest "
        f"`training/split_manifest.json`, sha256 `{card['data']['manifest_sha256']}`, seed {card['data']['seed']}.",
        "",
        "| split | benign | malignant | normal |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {split} | {c.get('benign', 0)} | {c.get('malignant', 0)} | {c.get('normal', 0)} |"
              for split, c in counts.items()]
    lines += [
        "",
        "Near-duplicate images (perceptual hashes: pHash and dHash both close, union-find into groups, "
        "plus the curated duplicate list shipped with the data when given) are kept on one side of the split. "
        "Groups whose copies carry different labels (the same pixels called benign and malignant, say) are "
        "excluded from training and testing: no label can be trusted for them.",
        "",
        "## Results",
        "",
        "Through the served LiteRT pipeline; ECE is before → after temperature scaling; Dice/IoU are means over "
        "lesion images of the UNet mask; the last column is the share of normal images with any UNet blob. "
        "Full report with plots: [`reports/README.md`](../reports/README.md).",
        "",
        "| split | n | accuracy | macro-F1 | malignant recall | ROC AUC | ECE | Dice | IoU | normal with blob |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *_metrics_rows(card.get("metrics", {})),
        "",
        *_baseline_lines(card.get("metrics", {})),
        f"Calibration: temperature {card['calibration']['temperature']} ({card['calibration'].get('method', '')}).",
        "",
        *_decision_lines(card.get("decision")),
        "## Serving",
        "",
        "LiteRT (`ai-edge-litert`, XNNPACK, 2 threads), float32 weights, batch size fixed at 1; no TensorFlow "
        "at serving time. Agreement with the Keras models on the validation images: on identical inputs the "
        f"UNet's probabilities differ by at most {agreement.get('unet_same_input_max_probability_difference', float('nan')):.1e} "
        f"and the classifier's by {agreement.get('classifier_same_input_max_probability_difference', float('nan')):.1e}; "
        f"end to end, labels agree on {_pct(agreement.get('label_agreement'))} of images and probabilities differ "
        f"by at most {agreement.get('max_probability_difference', float('nan')):.1e} (a UNet probability sitting on "
        "the mask threshold can flip a pixel and nudge the classifier's input).",
        "",
        "## Training cost",
        "",
        "Wall time on a 2-core CPU (no GPU), minutes: "
        + ", ".join(f"{k} {v}" for k, v in wall.items())
        + f"; the bundled UNet and classifier together {wall.get('unet', 0) + wall.get('classifier', 0):.1f} "
        "(the baseline is optional and not bundled), plus about 5 to export and evaluate.",
        "",
        "## Files",
        "",
        "| file | bytes | sha256 |",
        "|---|---:|---|",
        *[f"| `{name}` | {facts['bytes']} | `{facts['sha256']}` |" for name, facts in card.get("files", {}).items()],
        "",
        "## Limitations",
        "",
        "- One hospital, one population, scanners of 2018; BUSI has no patient IDs, so images of the same "
        "patient taken from different views can still sit on both sides of the split.",
        "- Small test split (about 100 images): every percentage has a wide confidence interval.",
        "- Trained from scratch (no ImageNet); a pretrained backbone would likely do better.",
        "- Burned-in calipers and annotations in BUSI can act as shortcuts.",
        *_mask_reliance_line(card.get("metrics", {})),
    ]
    return "\n".join(lines) + "\n"


def write(models_dir: Path) -> None:
    card = json.loads((models_dir / "model_card.json").read_text())
    (models_dir / "README.md").write_text(render(card))
