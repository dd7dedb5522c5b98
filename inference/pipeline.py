"""The one inference pipeline: segment the lesion, condition the classifier on the mask, decide.

Its steps are public (`square`, `segment`, `lesion_map`, `lesion_mask`, `classifier_logits`,
`probabilities`, `decide`) so that evaluation, export and training run them rather than
re-assembling them. Models are LiteRT flatbuffers: they load in a fraction of a second, need no
TensorFlow and run on XNNPACK (see models/README.md for the measurements behind that choice).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from inference.paths import MODELS_DIR
from inference.postprocessing import clean_probability, mask_at, softmax
from inference.preprocessing import classifier_input, resize_for_model, to_gray_array, unet_input
from inference.settings import CLASS_NAMES, InferenceSettings
from inference.threads import pin_native_threads

UNET_FILE = "unet.tflite"
CLASSIFIER_FILE = "classifier.tflite"
CARD_FILE = "model_card.json"
BENIGN, MALIGNANT, NORMAL = (CLASS_NAMES.index(name) for name in ("benign", "malignant", "normal"))

# A model as the pipeline calls it: a batch of one in, that batch's single output out.
Model = Callable[[np.ndarray], np.ndarray]

# Why an answer is marked uncertain (the page, the PDF, the API and the CLI say which).
LOW_CONFIDENCE = "low_confidence"  # no class reached the card's `uncertain_below`
MEMBERS_DISAGREE = "members_disagree"  # the ensemble's members would report different answers
LESION_WITHOUT_OUTLINE = "lesion_without_outline"  # a lesion answer, but the UNet outlined nothing
NORMAL_OVERRULED = "normal_overruled"  # the classifier leaned normal; the outline or its doubt said otherwise
OUTLINE_ON_NORMAL = "outline_on_normal"  # a normal answer, but the UNet outlined an area (within the normal rule)
CAVEATS = (LOW_CONFIDENCE, MEMBERS_DISAGREE, LESION_WITHOUT_OUTLINE, NORMAL_OVERRULED, OUTLINE_ON_NORMAL)


@dataclass(frozen=True)
class Decision:
    """The label the app reports, and what it rests on.

    `label` is malignant whenever `malignant_flagged`; otherwise the most probable class,
    except that normal is reported only when the outline agrees (`normal_overruled`: the most
    probable class was normal, but the UNet outlined too much or the classifier was not sure
    enough, so the more probable lesion class is reported instead).
    """

    label: str
    most_probable: str
    malignant_flagged: bool
    normal_overruled: bool = False


@dataclass(frozen=True)
class DecisionRule:
    """The decision's settings, all chosen on validation at export (see the model card)."""

    malignant_threshold: float = 1.0  # malignant once its calibrated probability reaches this
    normal_min_probability: float = 0.0  # normal needs at least this calibrated probability ...
    normal_max_outline: float = 1.0  # ... and an outline covering at most this share of the square

    @classmethod
    def of(cls, settings: InferenceSettings) -> "DecisionRule":
        return cls(settings.malignant_threshold, settings.normal_min_probability, settings.normal_max_outline)


def decide(probabilities: np.ndarray, rule: DecisionRule | float, outline_fraction: float = 0.0) -> Decision:
    """Malignant as soon as its calibrated probability reaches the threshold, else the most
    probable class, with normal reported only when the outline and the classifier agree.

    The thresholds are chosen on validation (see the model card) because for triage a missed
    cancer costs far more than a second look at a benign lump, and a lesion called normal is
    the most dangerous error of all. A bare float is a malignant threshold alone.
    """
    rule = rule if isinstance(rule, DecisionRule) else DecisionRule(float(rule))
    probabilities = np.asarray(probabilities)
    most_probable = CLASS_NAMES[int(probabilities.argmax())]
    flagged = bool(probabilities[MALIGNANT] >= rule.malignant_threshold)
    if flagged:
        return Decision("malignant", most_probable, True)
    if most_probable == "normal" and (probabilities[NORMAL] < rule.normal_min_probability
                                      or outline_fraction > rule.normal_max_outline):
        lesion_class = "malignant" if probabilities[MALIGNANT] > probabilities[BENIGN] else "benign"
        return Decision(lesion_class, most_probable, False, normal_overruled=True)
    return Decision(most_probable, most_probable, False)


def mirrored_input(batch: np.ndarray) -> np.ndarray:
    """A classifier input batch mirrored left to right (the flip-averaging pass)."""
    return batch[:, :, ::-1]


def ensemble_probabilities(member_logits: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated probabilities: each member's temperature-scaled softmax, averaged over the
    members axis (-2): (members, classes) -> (classes,), or (scans, members, classes) -> (scans, classes)."""
    return softmax(member_logits, temperature).mean(axis=-2)


def reported_classes(probabilities: np.ndarray, rule: DecisionRule | float,
                     outline_fractions: np.ndarray | None = None) -> np.ndarray:
    """`decide`'s label for each row, as class indices (for metrics over a split)."""
    outlines = np.zeros(len(probabilities)) if outline_fractions is None else outline_fractions
    return np.array([CLASS_NAMES.index(decide(row, rule, outline).label)
                     for row, outline in zip(probabilities, outlines, strict=True)], dtype=int)


def caveats(probabilities: np.ndarray, member_probabilities: np.ndarray, decision: Decision,
            outline_fraction: float, rule: DecisionRule, uncertain_below: float) -> tuple[str, ...]:
    """Every reason (CAVEATS) to mark this answer uncertain: the evidence disagrees or is weak."""
    reasons = []
    if probabilities.max() < uncertain_below:
        reasons.append(LOW_CONFIDENCE)
    if len({decide(member, rule, outline_fraction).label for member in member_probabilities}) > 1:
        reasons.append(MEMBERS_DISAGREE)
    if decision.label != "normal" and outline_fraction == 0:
        reasons.append(LESION_WITHOUT_OUTLINE)
    if decision.normal_overruled:
        reasons.append(NORMAL_OVERRULED)
    if decision.label == "normal" and outline_fraction > 0:
        reasons.append(OUTLINE_ON_NORMAL)
    return tuple(reasons)


@dataclass
class Prediction:
    """What the pipeline says about one scan, masks at the input image's height and width.

    `segmentation` is the UNet's mask; `mask` is what the app shows: the same, but empty
    when the scan is reported normal. `logits` holds one row per ensemble member; `caveats`
    the reasons (CAVEATS) to treat the answer as uncertain, empty when the evidence agrees.
    """

    decision: Decision
    probabilities: dict[str, float]
    mask: np.ndarray
    segmentation: np.ndarray
    logits: np.ndarray
    outline_fraction: float = 0.0
    caveats: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.decision.label

    @property
    def uncertain(self) -> bool:
        return bool(self.caveats)


class LiteRTModel:
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
    """Both models and their settings; `predict` runs one scan end to end.

    The models are `Model` callables, so the same steps run the served LiteRT files and, in
    training and export, the Keras originals (or, in tests, fakes).
    """

    def __init__(self, segmenter: Model | None, classifier: Model | None, settings: InferenceSettings,
                 version: str = "unversioned", trained: str | None = None):
        self.segmenter, self.classifier, self.settings = segmenter, classifier, settings
        self.version, self.trained = version, trained

    def info(self) -> dict:
        """Model version, runtime and decision settings, for /healthz."""
        return {"version": self.version, "runtime": "LiteRT", "temperature": self.settings.temperature,
                "malignant_threshold": self.settings.malignant_threshold,
                "classes": list(CLASS_NAMES), "trained": self.trained}

    def predict(self, image: Image.Image) -> Prediction:
        """Label, calibrated probabilities and lesion mask for a PIL image."""
        return self.predict_gray(to_gray_array(image))

    def predict_gray(self, gray: np.ndarray) -> Prediction:
        """The same for a grayscale uint8 (H, W) array (what training loads)."""
        timings = {}
        start = time.perf_counter()
        square = self.square(gray)
        probability = self.segment(square)
        timings["segment"] = (time.perf_counter() - start) * 1000
        cleaned = self.lesion_map(probability)
        mask = self.lesion_mask(cleaned, *gray.shape)
        square_mask = self.lesion_mask(cleaned, *square.shape)
        start = time.perf_counter()
        logits = self.classifier_logits(square, square_mask)
        timings["classify"] = (time.perf_counter() - start) * 1000
        probabilities = self.probabilities(logits)
        outline_fraction = float(square_mask.mean())
        decision = self.decide(probabilities, outline_fraction)
        return Prediction(
            decision=decision,
            probabilities={name: float(p) for name, p in zip(CLASS_NAMES, probabilities, strict=True)},
            mask=np.zeros_like(mask) if decision.label == "normal" else mask,
            segmentation=mask,
            logits=logits,
            outline_fraction=outline_fraction,
            caveats=caveats(probabilities, self.member_probabilities(logits), decision, outline_fraction,
                            DecisionRule.of(self.settings), self.settings.uncertain_below),
            timings_ms=timings,
        )

    def square(self, gray: np.ndarray) -> np.ndarray:
        """The scan resized to the square both networks start from."""
        return resize_for_model(gray, self.settings.square_size)

    def segment(self, square: np.ndarray) -> np.ndarray:
        """The UNet's lesion probability map (at its own input size)."""
        return self.segmenter(unet_input(self.settings, square)[None])[..., 0]

    def lesion_map(self, probability: np.ndarray) -> np.ndarray:
        """`segment`'s map on the square, specks and unsure blobs zeroed."""
        return clean_probability(self.settings, probability)

    def lesion_mask(self, lesion_map: np.ndarray, height: int, width: int) -> np.ndarray:
        """Binary (height, width) lesion mask from a `lesion_map`."""
        return mask_at(lesion_map, height, width, self.settings.mask_threshold)

    def square_lesion_mask(self, square: np.ndarray) -> np.ndarray:
        """The lesion mask on the square itself: what the classifier is conditioned on."""
        return self.lesion_mask(self.lesion_map(self.segment(square)), *square.shape)

    def classifier_logits(self, square: np.ndarray, square_mask: np.ndarray) -> np.ndarray:
        """Each ensemble member's logits (members, classes) for a square and its lesion mask,
        averaged with those of the mirrored input when `needs_mirror_pass` says so."""
        batch = classifier_input(self.settings, square, square_mask)[None]
        logits = np.atleast_2d(self.classifier(batch))
        if self.needs_mirror_pass(self.probabilities(logits)):
            return (logits + np.atleast_2d(self.classifier(mirrored_input(batch)))) / 2
        return logits

    def needs_mirror_pass(self, probabilities: np.ndarray) -> bool:
        """Whether flip averaging runs the mirrored input for a first pass with these calibrated
        probabilities: only near a decision boundary, where averaging can change the answer
        (the second classifier pass is a third of an upload's work)."""
        if not self.settings.flip_average:
            return False
        margin = self.settings.mirror_margin
        top, runner_up = np.sort(probabilities)[::-1][:2]
        return bool(abs(probabilities[MALIGNANT] - self.settings.malignant_threshold) <= margin
                    or top - runner_up <= margin)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities: the members' temperature-scaled softmax, averaged."""
        return ensemble_probabilities(np.atleast_2d(logits), self.settings.temperature)

    def member_probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Each member's calibrated probabilities, (members, classes)."""
        return softmax(np.atleast_2d(logits), self.settings.temperature)

    def decide(self, probabilities: np.ndarray, outline_fraction: float = 0.0) -> Decision:
        return decide(probabilities, DecisionRule.of(self.settings), outline_fraction)

    @classmethod
    def load(cls, models_dir: str | Path = MODELS_DIR, threads: int | None = None) -> "Pipeline":
        """The LiteRT models in `models_dir`, run as their card says (`threads` overrides its
        thread count). Raises ModelCardError for a card that does not say how."""
        pin_native_threads()
        models_dir = Path(models_dir)
        card = json.loads((models_dir / CARD_FILE).read_text())
        settings = InferenceSettings.from_card(card)
        if threads is not None:
            settings = replace(settings, threads=threads)
        return cls(LiteRTModel(models_dir / UNET_FILE, settings.threads),
                   LiteRTModel(models_dir / CLASSIFIER_FILE, settings.threads),
                   settings, version=card["version"], trained=card.get("created"))
