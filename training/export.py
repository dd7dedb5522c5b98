"""Export trained Keras models to LiteRT (float16 weights, batch of 1) and write the model card."""
from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.pipeline import CARD_FILE, CLASSIFIER_FILE, FLIP_AVERAGE, UNET_FILE
from app.preprocessing import CLASS_NAMES, CLASSIFIER_SIZE, MODEL_SIZE, UNET_SIZE, softmax


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
        probs = softmax(logits, float(np.exp(log_t)))
        return -np.mean(np.log(probs[np.arange(len(labels)), labels] + 1e-12))

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


MALIGNANT_RECALL_TARGET = 0.9  # on validation, a margin above the 0.85 the product asks for
MIN_MALIGNANT_THRESHOLD = 0.2  # never flag a scan on a lower chance than this


def choose_malignant_threshold(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The highest malignant threshold that still finds MALIGNANT_RECALL_TARGET of the
    validation cancers (1.0 when the most probable class already does), never below
    MIN_MALIGNANT_THRESHOLD. The highest, so benign scans are flagged as little as possible.
    """
    from app.pipeline import MALIGNANT, decide

    cancers = labels == MALIGNANT
    for threshold in np.unique(np.r_[probabilities[cancers, MALIGNANT], 1.0])[::-1]:
        if np.mean(decide(probabilities[cancers], threshold) == MALIGNANT) >= MALIGNANT_RECALL_TARGET:
            return max(float(threshold), MIN_MALIGNANT_THRESHOLD)
    return MIN_MALIGNANT_THRESHOLD


def keras_runner(model: keras.Model):
    """A Keras model as the pipeline's batch-of-one callable (inference mode, traced once
    as a tf.function: eager calls are ~15x slower and would misstate TensorFlow's speed)."""
    traced = tf.function(lambda batch: model(batch, training=False))
    return lambda batch: traced(tf.constant(batch, tf.float32)).numpy()[0]


def agreement(reference, served, images) -> dict:
    """How closely the served LiteRT models follow the Keras ones on real images.

    Each model is compared on identical inputs (the conversion itself), then the whole
    pipeline end to end, where a pixel whose UNet probability sits on the threshold can
    flip and change the classifier's input a little.
    """
    from app.preprocessing import MODEL_SIZE, classifier_input, mask_from_probability, resize_for_model, unet_input

    unet_gap, classifier_gap = 0.0, 0.0
    for gray in images:
        square = resize_for_model(gray)
        tensor = unet_input(square)[None]
        probability = reference._unet(tensor)
        unet_gap = max(unet_gap, float(np.abs(probability - served._unet(tensor)).max()))
        inputs = classifier_input(square, mask_from_probability(probability[..., 0], MODEL_SIZE, MODEL_SIZE))[None]
        gap = softmax(reference._classifier(inputs), reference.temperature) - softmax(served._classifier(inputs), served.temperature)
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


def export_models(run_dir: Path, models_dir: Path, args) -> dict:
    """Write unet.tflite, classifier.tflite and model_card.json (calibrated on validation)."""
    from app.pipeline import Pipeline
    from training import data

    models_dir.mkdir(parents=True, exist_ok=True)
    models = {}
    for name, filename in (("unet", UNET_FILE), ("classifier", CLASSIFIER_FILE)):
        models[name] = keras.models.load_model(run_dir / f"{name}_best.keras", compile=False)
        to_litert(models[name], models_dir / filename)
    manifest = json.loads(Path(args.manifest).read_text())
    wall = json.loads((run_dir / "wall_time.json").read_text()) if (run_dir / "wall_time.json").exists() else {}
    card = {
        "version": datetime.date.today().isoformat(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "classes": list(CLASS_NAMES),
        "input": {"square": MODEL_SIZE, "unet": UNET_SIZE, "classifier": CLASSIFIER_SIZE,
                  "classifier_channels": ["image", "image inside widened mask", "mask"]},
        "data": {"dataset": "BUSI (Al-Dhabyani et al., 2020), development copy", "counts": manifest["counts"],
                 "manifest_sha256": data.manifest_hash(manifest), "seed": manifest["seed"]},
        "weights": "imagenet" if args.weights else "none (trained from scratch)",
        "training_wall_time_minutes": {k: round(v / 60, 1) for k, v in wall.items()},
        "calibration": {"temperature": 1.0},
        "inference": {"flip_average": FLIP_AVERAGE},
    }
    (models_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")

    samples, images, _ = data.load_split(args.data, manifest, "val")
    pipeline = Pipeline.load(models_dir)
    logits = np.stack([pipeline.predict_gray(img).logits for img in images])
    labels = np.array([CLASS_NAMES.index(s.label) for s in samples])
    card["calibration"] = {"method": "temperature scaling on the validation split",
                           "temperature": round(fit_temperature(logits, labels), 4)}
    calibrated = softmax(logits, card["calibration"]["temperature"])
    card["decision"] = {"rule": "malignant when its calibrated probability reaches the threshold, "
                                "else the most probable class",
                        "malignant_recall_target_on_validation": MALIGNANT_RECALL_TARGET,
                        "minimum_threshold": MIN_MALIGNANT_THRESHOLD,
                        "malignant_threshold": choose_malignant_threshold(calibrated, labels)}
    reference = Pipeline(keras_runner(models["unet"]), keras_runner(models["classifier"]), card)
    pipeline.temperature = reference.temperature
    pipeline.malignant_threshold = reference.malignant_threshold
    card["litert_vs_keras"] = agreement(reference, pipeline, images)
    card["files"] = {f: file_facts(models_dir / f) for f in (UNET_FILE, CLASSIFIER_FILE)}
    card["version"] = f"{card['version']}-{models_version(card['files'])}"
    (models_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({"calibration": card["calibration"], "decision": card["decision"]}), flush=True)
    return card
