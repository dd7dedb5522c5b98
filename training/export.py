"""Export trained Keras models to LiteRT (float32, batch of 1) and write the model card.

The card is written once, from the run's `run.json` and the settings calibrated here; it is
what `InferenceSettings.from_card` reads back when the app loads the models.
"""
from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from inference.pipeline import CARD_FILE, CLASSIFIER_FILE, MALIGNANT, UNET_FILE, LiteRTModel, Pipeline, reported_classes
from inference.preprocessing import CLASSIFIER_INPUTS, UNET_INPUTS, softmax
from inference.settings import CLASS_NAMES, InferenceSettings
from training import data
from training.metrics import negative_log_likelihood
from training.models import keras_runner
from training.run import TrainingRun
from training.sources import Source, describe


def to_litert(model: keras.Model, path: Path, float16: bool = False) -> None:
    """Convert with a fixed batch size of 1 (what serving runs; XNNPACK plans for it).

    float32 by default: float16 weights moved the classifier's probabilities by up to 9e-4
    on identical inputs and flipped UNet mask pixels enough to move end-to-end
    probabilities by 0.04 (measured on validation), for a size saving only.
    """
    shape = (1, *model.input_shape[1:])
    kwargs = {"optimizations": [tf.lite.Optimize.DEFAULT], "target_spec": {"supported_types": [tf.float16]}} if float16 else {}
    model.export(str(path), format="litert", input_signature=[tf.TensorSpec(shape, tf.float32)], verbose=False, **kwargs)


def file_facts(path: Path) -> dict:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}


def models_version(files: dict) -> str:
    """Eight hex digits that change whenever either model file does."""
    return hashlib.sha256("".join(facts["sha256"] for facts in files.values()).encode()).hexdigest()[:8]


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising validation negative log-likelihood (Guo et al., 2017)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t):
        return negative_log_likelihood(softmax(logits, float(np.exp(log_t))), labels)

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


MALIGNANT_RECALL_TARGET = 0.9  # on validation, a margin above the 0.85 the product asks for
MIN_MALIGNANT_THRESHOLD = 0.2  # never flag a scan on a lower chance than this


def choose_malignant_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The highest malignant threshold that still finds MALIGNANT_RECALL_TARGET of the
    validation cancers (1.0 when the most probable class already does), never below
    MIN_MALIGNANT_THRESHOLD. The highest, so benign scans are flagged as little as possible.
    """
    cancers = labels == MALIGNANT
    for threshold in np.unique(np.r_[probabilities[cancers, MALIGNANT], 1.0])[::-1]:
        if np.mean(reported_classes(probabilities[cancers], threshold) == MALIGNANT) >= MALIGNANT_RECALL_TARGET:
            return max(float(threshold), MIN_MALIGNANT_THRESHOLD)
    return MIN_MALIGNANT_THRESHOLD


MIRROR_MARGINS = tuple(round(0.05 * step, 2) for step in range(1, 21))  # 0.05 ... 1.0 (always)


def choose_mirror_margin(settings: InferenceSettings, first_pass: np.ndarray,
                         averaged: np.ndarray) -> tuple[InferenceSettings, dict]:
    """The settings with the smallest `mirror_margin` at which running the mirror pass only near
    a decision boundary gives every validation scan the decision that always averaging gives,
    and how often that margin runs the mirror pass. `first_pass` and `averaged` are the
    validation logits without and with flip averaging, under calibrated `settings`."""
    def decisions(pipeline: Pipeline, logits: np.ndarray) -> np.ndarray:
        return reported_classes(pipeline.probabilities(logits), settings.malignant_threshold)

    always = decisions(Pipeline(None, None, settings), averaged)
    for margin in MIRROR_MARGINS:
        candidate = Pipeline(None, None, replace(settings, mirror_margin=margin))
        mirrored = np.array([candidate.needs_mirror_pass(candidate.probabilities(row)) for row in first_pass])
        served = np.where(mirrored[:, None], averaged, first_pass)
        if np.array_equal(decisions(candidate, served), always):
            return candidate.settings, {"scans": len(first_pass), "mirror_pass_share": float(mirrored.mean())}
    raise AssertionError("a margin of 1.0 always runs the mirror pass")


def agreement(reference: Pipeline, served: Pipeline, images) -> dict:
    """How closely the served LiteRT models follow the Keras ones on real images.

    Each model is compared on identical inputs (the conversion itself), then the whole
    pipeline end to end, where a pixel whose UNet probability sits on the threshold can
    flip and change the classifier's input a little.
    """
    unet_gap, classifier_gap = 0.0, 0.0
    for gray in images:
        square = served.square(gray)
        probability = reference.segment(square)
        unet_gap = max(unet_gap, float(np.abs(probability - served.segment(square)).max()))
        mask = reference.lesion_mask(reference.lesion_map(probability), *square.shape)
        gap = (reference.probabilities(reference.classifier_logits(square, mask))
               - served.probabilities(served.classifier_logits(square, mask)))
        classifier_gap = max(classifier_gap, float(np.abs(gap).max()))
    pairs = [(reference.predict_gray(img), served.predict_gray(img)) for img in images]
    return {
        "images": len(pairs),
        "unet_same_input_max_probability_difference": unet_gap,
        "classifier_same_input_max_probability_difference": classifier_gap,
        "label_agreement": float(np.mean([a.label == b.label for a, b in pairs])),
        "max_probability_difference": float(max(
            abs(a.probabilities[k] - b.probabilities[k]) for a, b in pairs for k in CLASS_NAMES)),
        "mean_mask_pixel_disagreement": float(np.mean([(a.mask != b.mask).mean() for a, b in pairs])),
    }


def calibrate(settings: InferenceSettings, logits: np.ndarray, labels: np.ndarray) -> InferenceSettings:
    """The settings with the temperature and malignant threshold fitted on validation logits."""
    temperature = round(fit_temperature(logits, labels), 4)
    threshold = choose_malignant_threshold(softmax(logits, temperature), labels)
    return replace(settings, temperature=temperature, malignant_threshold=threshold)


def export_models(run_dir: Path, models_dir: Path, sources: list[Source]) -> dict:
    """Write unet.tflite, classifier.tflite and model_card.json, calibrated on the validation
    splits of every source together."""
    run = TrainingRun.load(run_dir)
    if run.data != describe(sources):
        raise ValueError(f"{run_dir} was trained on other data or splits than the manifests given to export")
    models_dir.mkdir(parents=True, exist_ok=True)
    keras_models = {}
    for name, filename in (("unet", UNET_FILE), ("classifier", CLASSIFIER_FILE)):
        keras_models[name] = keras.models.load_model(run_dir / f"{name}_best.keras", compile=False)
        to_litert(keras_models[name], models_dir / filename)
    litert = [LiteRTModel(models_dir / name, run.settings.threads) for name in (UNET_FILE, CLASSIFIER_FILE)]
    images, labels = [], []
    for source in sources:
        samples, source_images, _ = data.load_split(source.root, source.manifest, "val")
        images += source_images
        labels += [CLASS_NAMES.index(s.label) for s in samples]
    # Calibrated on flip averaging for every scan; then the mirror pass is kept where it can matter.
    averaged = validation_logits(Pipeline(*litert, replace(run.settings, mirror_margin=1.0)), images)
    settings = calibrate(run.settings, averaged, np.array(labels))
    mirror_pass = None
    if settings.flip_average:
        first_pass = validation_logits(Pipeline(*litert, replace(settings, flip_average=False)), images)
        settings, mirror_pass = choose_mirror_margin(settings, first_pass, averaged)
    reference = Pipeline(keras_runner(keras_models["unet"]), keras_runner(keras_models["classifier"]), settings)
    files = {name: file_facts(models_dir / name) for name in (UNET_FILE, CLASSIFIER_FILE)}
    card = model_card(run, settings, files, agreement(reference, Pipeline(*litert, settings), images))
    card["inference"]["mirror_pass_on_validation"] = mirror_pass
    card["design_choices"] = earlier_design_choices(models_dir / CARD_FILE)
    (models_dir / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps({"calibration": card["calibration"], "decision": card["decision"]}), flush=True)
    return card


def validation_logits(pipeline: Pipeline, images) -> np.ndarray:
    return np.stack([pipeline.predict_gray(image).logits for image in images])


def earlier_design_choices(card_path: Path) -> list[dict]:
    """The validation comparisons behind the recipe (`benchmarks.recipe_table choice`) that the
    card being replaced recorded: a retrain keeps the evidence for the recipe it follows."""
    return json.loads(card_path.read_text()).get("design_choices", []) if card_path.exists() else []


def model_card(run: TrainingRun, settings: InferenceSettings, files: dict, agreement_on_val: dict) -> dict:
    """The card: the settings `from_card` reads back, then what the models are and how they were made."""
    card = {"version": f"{datetime.date.today().isoformat()}-{models_version(files)}",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "classes": list(CLASS_NAMES), **settings.card_sections()}
    card["input"].update(unet_channels=list(UNET_INPUTS[settings.unet_input].channels),
                         classifier_channels=list(CLASSIFIER_INPUTS[settings.classifier_input].channels))
    card["calibration"]["method"] = "temperature scaling on the validation splits of every source together"
    card["decision"].update(rule="malignant when its calibrated probability reaches the threshold, "
                                 "else the most probable class",
                            malignant_recall_target_on_validation=MALIGNANT_RECALL_TARGET,
                            minimum_threshold=MIN_MALIGNANT_THRESHOLD)
    card["data"] = run.data
    card["training"] = {"seed": run.seed, "epochs": run.epochs, **run.recipe}
    card["training_wall_time_minutes"] = {k: round(v, 1) for k, v in run.wall_time_minutes.items()}
    card["litert_vs_keras"] = agreement_on_val
    card["files"] = files
    return card
