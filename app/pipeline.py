"""The one inference pipeline: segment the lesion, condition the classifier on the mask.

Used by the web app, the batch CLI (`python -m app.predict`) and `python -m training
evaluate`, so the numbers in the model card come from the code that serves patients.
Models are LiteRT flatbuffers: they load in a fraction of a second, need no TensorFlow
and run on XNNPACK (see models/README.md for the measurements behind that choice).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from app.preprocessing import (
    CLASS_NAMES,
    MODEL_SIZE,
    classifier_input,
    clean_probability,
    mask_at,
    resize_for_model,
    softmax,
    to_gray_array,
    unet_input,
)

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
UNET_FILE = "unet.tflite"
CLASSIFIER_FILE = "classifier.tflite"
CARD_FILE = "model_card.json"


MALIGNANT = CLASS_NAMES.index("malignant")
# Average the classifier's logits over the input and its mirror image: a lesion's left and right
# say the same, and the two views' errors partly cancel (measured on validation, see the card).
FLIP_AVERAGE = True


def mirror_averaged(classify, batch: np.ndarray) -> np.ndarray:
    """`classify(batch)` averaged with `classify` of the left-right mirrored batch (NHWC)."""
    return (classify(batch) + classify(batch[:, :, ::-1])) / 2


def decide(probabilities: np.ndarray, malignant_threshold: float = 1.0) -> np.ndarray:
    """Class index (per row) the app reports: malignant as soon as its calibrated probability
    reaches `malignant_threshold`, else the most probable class.

    The threshold is chosen on validation (see the model card) because for triage a missed
    cancer costs far more than a second look at a benign lump; 1.0 means plain argmax.
    """
    probabilities = np.asarray(probabilities)
    return np.where(probabilities[..., MALIGNANT] >= malignant_threshold, MALIGNANT, probabilities.argmax(axis=-1))


@dataclass
class Prediction:
    """What the pipeline says about one scan, masks at the input image's height and width.

    `segmentation` is the UNet's mask; `mask` is what the app shows: the same, but empty
    when the classifier, which also sees the scan's texture, calls the scan normal.
    """

    label: str
    probabilities: dict[str, float]
    mask: np.ndarray
    segmentation: np.ndarray
    logits: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)


class _Model:
    """One LiteRT interpreter with a lock: an interpreter must not run on two threads at once."""

    def __init__(self, path: Path, num_threads: int):
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def __call__(self, batch_of_one: np.ndarray) -> np.ndarray:
        with self._lock:
            self._interpreter.set_tensor(self._input, batch_of_one.astype(np.float32))
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[0].copy()


class Pipeline:
    """Both models, loaded once; `predict` runs one scan end to end.

    The models are callables from a batch of one to that batch's single output, so the
    same code runs the served LiteRT files and, at export time, the Keras originals.
    """

    def __init__(self, segmenter, classifier, card: dict):
        self.card = card
        self.temperature = float(card.get("calibration", {}).get("temperature", 1.0))
        self.malignant_threshold = float(card.get("decision", {}).get("malignant_threshold", 1.0))
        self._unet, self._classifier = segmenter, classifier
        self.flip_average = FLIP_AVERAGE

    @property
    def version(self) -> str:
        return self.card["version"]

    def info(self) -> dict:
        """Model versions and runtime, for /healthz and the API's `model` field."""
        return {"version": self.version, "runtime": "LiteRT", "temperature": self.temperature,
                "malignant_threshold": self.malignant_threshold,
                "classes": list(CLASS_NAMES), "trained": self.card.get("created")}

    def predict(self, image: Image.Image) -> Prediction:
        """Label, calibrated probabilities and lesion mask for a PIL image."""
        return self.predict_gray(to_gray_array(image))

    def predict_gray(self, gray: np.ndarray) -> Prediction:
        """The same for a grayscale uint8 (H, W) array (what training loads)."""
        timings = {}
        start = time.perf_counter()
        square = resize_for_model(gray)
        probability = self._unet(unet_input(square)[None])[..., 0]
        timings["segment"] = (time.perf_counter() - start) * 1000
        cleaned = clean_probability(probability)
        mask = mask_at(cleaned, *gray.shape)
        square_mask = mask_at(cleaned, MODEL_SIZE, MODEL_SIZE)
        start = time.perf_counter()
        logits = self.classify(classifier_input(square, square_mask)[None])
        timings["classify"] = (time.perf_counter() - start) * 1000
        probs = softmax(logits, self.temperature)
        label = CLASS_NAMES[int(decide(probs, self.malignant_threshold))]
        return Prediction(
            label=label,
            probabilities={name: float(p) for name, p in zip(CLASS_NAMES, probs)},
            mask=np.zeros_like(mask) if label == "normal" else mask,
            segmentation=mask,
            logits=logits,
            timings_ms=timings,
        )

    def classify(self, batch_of_one: np.ndarray) -> np.ndarray:
        """The classifier's logits, averaged with those of the mirrored input when flip_average is on."""
        if self.flip_average:
            return mirror_averaged(self._classifier, batch_of_one)
        return self._classifier(batch_of_one)

    @classmethod
    def load(cls, models_dir: str | Path = DEFAULT_MODELS_DIR, num_threads: int = 2) -> "Pipeline":
        """The bundled LiteRT models and their card from `models_dir`."""
        models_dir = Path(models_dir)
        card = json.loads((models_dir / CARD_FILE).read_text())
        return cls(_Model(models_dir / UNET_FILE, num_threads), _Model(models_dir / CLASSIFIER_FILE, num_threads), card)
