"""Export trained Keras models to LiteRT (batch of 1) and write the model card.

Each network is converted twice, float32 and full-integer int8 (activations too, calibrated on
a representative set of training scans), and the int8 file is served only where it answers as
the float32 one does on validation (`INT8_RULES`). The classifier's ensemble members go into
one file whose output is every member's logits. Calibration and the decision rules are fitted
on the validation splits of every source. The card is written once, from the run's `run.json`
and the settings chosen here; it is what `InferenceSettings.from_card` reads back.
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

from inference.input_kinds import CLASSIFIER_INPUTS, UNET_INPUTS
from inference.pipeline import CARD_FILE, CLASSIFIER_FILE, UNET_FILE, LiteRTModel, Pipeline
from inference.preprocessing import classifier_input, unet_input
from inference.settings import CLASS_NAMES, InferenceSettings
from training import data
from training.models import keras_runner
from training.run import TrainingRun
from training.sources import Source, describe, load_split_data
from training.train import member_paths
from training.validation_choices import (
    INT8_RULES,
    MALIGNANT_RECALL_TARGET,
    MIN_MALIGNANT_THRESHOLD,
    ValidationScans,
    calibrate,
    caveat_figures,
    choose_mirror_margin,
    choose_normal_rule,
    choose_uncertain_below,
    fit_temperature,
    int8_comparison,
    member_figures,
    validation_scans,
)


def to_litert(model: keras.Model, path: Path, float16: bool = False, representative: np.ndarray | None = None) -> None:
    """Convert with a fixed batch size of 1 (what serving runs; XNNPACK plans for it).

    float32 by default: float16 weights moved the classifier's probabilities by up to 9e-4
    on identical inputs and flipped UNet mask pixels enough to move end-to-end
    probabilities by 0.04 (measured on validation), for a size saving only. With
    `representative` inputs (N, *input shape): full-integer int8, weights and activations
    (TFLITE_BUILTINS_INT8; float32 in and out), about half float32's time on XNNPACK.
    """
    shape = (1, *model.input_shape[1:])
    kwargs = {}
    if float16:
        kwargs = {"optimizations": [tf.lite.Optimize.DEFAULT], "target_spec": {"supported_types": [tf.float16]}}
    if representative is not None:
        kwargs = {"optimizations": [tf.lite.Optimize.DEFAULT],
                  "representative_dataset": lambda: ([row[None].astype(np.float32)] for row in representative),
                  "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}}
    model.export(str(path), format="litert", input_signature=[tf.TensorSpec(shape, tf.float32)], verbose=False,
                 **kwargs)


def ensemble_model(members: list[keras.Model]) -> keras.Model:
    """One model running every member on the same input: (1, members, classes) logits, so one
    LiteRT call serves the ensemble and the pipeline sees each member's answer."""
    inputs = keras.Input(members[0].input_shape[1:], name="classifier_input")
    for k, member in enumerate(members):
        member.name = f"member{k}"
    outputs = keras.ops.stack([member(inputs) for member in members], axis=1)
    return keras.Model(inputs, outputs, name="classifier_ensemble")


def file_facts(path: Path) -> dict:
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": path.stat().st_size}


def models_version(files: dict) -> str:
    """Eight hex digits that change whenever either model file does."""
    return hashlib.sha256("".join(facts["sha256"] for facts in files.values()).encode()).hexdigest()[:8]


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


REPRESENTATIVE_SCANS = 96  # training scans, spread over sources and classes, set int8 activation ranges


def representative_inputs(pipeline: Pipeline, sources: list[Source], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """UNet and classifier inputs of REPRESENTATIVE_SCANS training scans (sources and classes
    alike), built by the served steps with the float32 UNet's masks: int8's activation ranges."""
    squares = []
    for source in sources:
        samples, images, _ = data.load_split(source.root, source.manifest, "train")
        rng = np.random.default_rng(seed)
        for name in CLASS_NAMES:
            rows = [i for i, s in enumerate(samples) if s.label == name]
            picked = rng.permutation(rows)[:REPRESENTATIVE_SCANS // (len(sources) * len(CLASS_NAMES))]
            squares += [pipeline.square(images[i]) for i in picked]
    unet_inputs = np.stack([unet_input(pipeline.settings, s) for s in squares])
    classifier_inputs = np.stack([classifier_input(pipeline.settings, s, pipeline.square_lesion_mask(s))
                                  for s in squares])
    return unet_inputs, classifier_inputs


def export_models(run_dir: Path, models_dir: Path, sources: list[Source]) -> dict:
    """Write unet.tflite, classifier.tflite (every ensemble member) and model_card.json: each
    network in float32 or int8 as `INT8_RULES` decide, calibrated and with decision rules chosen
    on the validation splits of every source together."""
    run = TrainingRun.load(run_dir)
    if run.data != describe(sources):
        raise ValueError(f"{run_dir} was trained on other data or splits than the manifests given to export")
    models_dir.mkdir(parents=True, exist_ok=True)
    members = [keras.models.load_model(path, compile=False) for path in member_paths(run_dir, "classifier")]
    # An ensemble's members replace the mirror pass (the same cost, and evidence of their own).
    settings = replace(run.settings, flip_average=len(members) == 1)
    keras_models = {"unet": keras.models.load_model(run_dir / "unet_best.keras", compile=False),
                    "classifier": ensemble_model(members) if len(members) > 1 else members[0]}
    variants = run_dir / "export"
    float32 = {name: variants / f"{name}_float32.tflite" for name in keras_models}
    int8 = {name: variants / f"{name}_int8.tflite" for name in keras_models}
    variants.mkdir(exist_ok=True)
    for name, model in keras_models.items():
        to_litert(model, float32[name])
    litert = {path: LiteRTModel(path, settings.threads) for path in float32.values()}
    representative = dict(zip(("unet", "classifier"), representative_inputs(
        Pipeline(litert[float32["unet"]], None, settings), sources, run.seed), strict=True))
    for name, model in keras_models.items():
        to_litert(model, int8[name], representative=representative[name])
    litert.update({path: LiteRTModel(path, settings.threads) for path in int8.values()})

    val = load_split_data(sources, "val", settings.square_size)
    images, masks, labels, names = val.images, val.true_masks, val.labels, val.sources

    def scans_with(unet: Path, classifier: Path, how: InferenceSettings | None = None) -> ValidationScans:
        pipeline = Pipeline(litert[unet], litert[classifier], how or settings)
        return validation_scans(pipeline, images, masks, labels, names)

    # a single classifier is calibrated on flip averaging for every scan (mirror_margin 1.0), then
    # the mirror pass is kept only where it can change a decision
    reference = scans_with(float32["unet"], float32["classifier"])
    settings = calibrate(settings, reference.logits, np.array(labels))
    mirror_pass = None
    if settings.flip_average:
        first_pass = scans_with(float32["unet"], float32["classifier"], replace(settings, flip_average=False))
        settings, mirror_pass = choose_mirror_margin(settings, first_pass.logits, reference.logits)
        reference = scans_with(float32["unet"], float32["classifier"])
    settings, _ = choose_normal_rule(settings, reference)
    precision = {"rules": INT8_RULES}
    precision["unet"] = int8_comparison(settings, reference, scans_with(int8["unet"], float32["classifier"]))
    unet = int8["unet"] if precision["unet"]["int8_served"] else float32["unet"]
    served_reference = reference if unet == float32["unet"] else scans_with(unet, float32["classifier"])
    precision["classifier"] = int8_comparison(settings, served_reference, scans_with(unet, int8["classifier"]))
    classifier = int8["classifier"] if precision["classifier"]["int8_served"] else float32["classifier"]
    served = scans_with(unet, classifier)
    settings, normal_rules = choose_normal_rule(settings, served)
    settings, uncertain_levels = choose_uncertain_below(settings, served)
    for path, filename in ((unet, UNET_FILE), (classifier, CLASSIFIER_FILE)):
        (models_dir / filename).write_bytes(path.read_bytes())
    served_pipeline = Pipeline(LiteRTModel(models_dir / UNET_FILE, settings.threads),
                               LiteRTModel(models_dir / CLASSIFIER_FILE, settings.threads), settings)
    reference_pipeline = Pipeline(keras_runner(keras_models["unet"]), keras_runner(keras_models["classifier"]),
                                  settings)
    files = {name: file_facts(models_dir / name) for name in (UNET_FILE, CLASSIFIER_FILE)}
    card = model_card(run, settings, files, agreement(
        reference_pipeline, Pipeline(litert[float32["unet"]], litert[float32["classifier"]], settings), images))
    card["precision"] = {"unet": "int8" if unet == int8["unet"] else "float32",
                         "classifier": "int8" if classifier == int8["classifier"] else "float32",
                         "comparison_on_validation": precision,
                         "representative_training_scans": int(len(representative["unet"]))}
    card["inference"]["mirror_pass_on_validation"] = mirror_pass
    card["ensemble"] = {"members": int(reference.logits.shape[1]),
                        "validation": member_figures(settings, served),
                        "leave_a_source_out": leave_a_source_out(run_dir, served_pipeline, images, labels, names)}
    card["decision"]["normal_rule_on_validation"] = normal_rules
    card["decision"]["uncertain_levels_on_validation"] = uncertain_levels
    card["decision"]["caveats_on_validation"] = caveat_figures(settings, served)
    card["design_choices"] = earlier_design_choices(models_dir / CARD_FILE)
    (models_dir / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps({"calibration": card["calibration"], "decision": {k: v for k, v in card["decision"].items()
                                                                       if not k.endswith("_on_validation")},
                      "precision": card["precision"]}), flush=True)
    return card


def leave_a_source_out(run_dir: Path, served: Pipeline, images, labels, names) -> dict | None:
    """The classifier_busi_only members (trained on BUSI alone), on the served UNet's masks,
    calibrated on BUSI's validation scans and scored on every source: how honest the confidence
    stays on a hospital the classifier never saw. None when the stage was not trained."""
    paths = member_paths(run_dir, "classifier_busi_only")
    if not paths:
        return None
    pipeline = Pipeline(served.segmenter, keras_runner(ensemble_model(
        [keras.models.load_model(path, compile=False) for path in paths])), served.settings)
    scans = validation_scans(pipeline, images, None, labels, names)
    busi = scans.sources == "busi"
    temperature = round(fit_temperature(scans.logits[busi], scans.labels[busi]), 4)
    settings = replace(served.settings, temperature=temperature)
    return {"trained_on": "busi", "temperature_fitted_on": "busi validation", "temperature": temperature,
            "figures": member_figures(settings, scans), "caveats": caveat_figures(settings, scans)}


def earlier_design_choices(card_path: Path) -> list[dict]:
    """The validation comparisons behind the recipe (`python -m training record-choice`) that the
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
    card["decision"].update(rule="malignant when its calibrated probability reaches the threshold; else the most "
                                 "probable class, except that normal needs normal_min_probability and an outline of "
                                 "at most normal_max_outline of the square (else the likelier lesion class)",
                            malignant_recall_target_on_validation=MALIGNANT_RECALL_TARGET,
                            minimum_threshold=MIN_MALIGNANT_THRESHOLD)
    card["data"] = run.data
    card["training"] = {"seed": run.seed, "epochs": run.epochs, **run.recipe}
    card["training_wall_time_minutes"] = {k: round(v, 1) for k, v in run.wall_time_minutes.items()}
    card["litert_vs_keras"] = agreement_on_val
    card["files"] = files
    return card
