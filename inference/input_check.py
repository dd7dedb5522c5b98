"""Is this a breast-ultrasound scan like those the models learnt from? A learned input check.

An upload is run through a small ImageNet feature extractor (EfficientNet-Lite0, LiteRT file
`input_check.tflite`, 1280 average-pooled features) and scored by its mean cosine distance to
its `neighbours` nearest training scans of every source (`input_check.npz`: the training scans'
unit-length features, float16). Two thresholds chosen on the validation splits turn the score
into a verdict:

- ``accepted``: like the scans the models learnt from;
- ``unfamiliar``: answered, but the result is flagged as less reliable;
- ``refused``: not analysed (the app answers 422 ``not_ultrasound``).

`python -m training input-check` fits the reference and writes the card's ``input_check``
section; `InputCheckSettings.from_card` refuses a card without it. The check is independent of
the classifier and UNet files, so it survives their re-export (re-run the subcommand after an
export that rewrites the card). Serving needs only numpy, OpenCV and LiteRT here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from inference.paths import MODELS_DIR
from inference.preprocessing import resize_for_model, to_gray_array
from inference.settings import ModelCardError
from inference.threads import pin_native_threads

FEATURE_FILE = "input_check.tflite"
REFERENCE_FILE = "input_check.npz"
CARD_FILE = "model_card.json"
CARD_SECTION = "input_check"
METHODS = ("knn_cosine",)
ACCEPTED, UNFAMILIAR, REFUSED = "accepted", "unfamiliar", "refused"

# A model as the check calls it: a batch of one in, that batch's single output out.
Model = Callable[[np.ndarray], np.ndarray]


def check_input(gray: np.ndarray, square_size: int = 256, input_size: int = 224) -> np.ndarray:
    """The feature extractor's (input_size, input_size, 3) float32 input in [0, 255]: the scan as
    the pipeline sees it (grey, resized to its square), resized again and repeated to RGB."""
    import cv2

    square = resize_for_model(gray, square_size)
    small = cv2.resize(square, (input_size, input_size), interpolation=cv2.INTER_AREA)
    return np.repeat(small.astype(np.float32)[..., None], 3, axis=-1)


@dataclass(frozen=True)
class InputCheckSettings:
    """The card's ``input_check`` section: what to run and where its verdicts change."""

    method: str
    feature_model: str  # file name in the models folder
    feature_model_sha256: str
    reference: str  # .npz with the training scans' unit-length features
    reference_sha256: str
    square_size: int
    input_size: int
    neighbours: int
    unfamiliar_above: float
    refuse_above: float

    @classmethod
    def from_card(cls, card: dict) -> "InputCheckSettings":
        section = card.get(CARD_SECTION)
        if not isinstance(section, dict):
            raise ModelCardError(f"model card has no '{CARD_SECTION}' section: fit the input check "
                                 "(python -m training input-check) after exporting the models")
        values = {}
        for field in fields(cls):
            try:
                values[field.name] = type_of(field)(section[field.name])
            except (KeyError, TypeError, ValueError):
                raise ModelCardError(f"model card lacks {CARD_SECTION}.{field.name}: re-fit the input check "
                                     "(python -m training input-check)") from None
        settings = cls(**values)
        if settings.method not in METHODS:
            raise ModelCardError(f"unknown input check method {settings.method!r}; known: {', '.join(METHODS)}")
        if not 0 < settings.unfamiliar_above <= settings.refuse_above:
            raise ModelCardError(f"input check thresholds must satisfy 0 < unfamiliar_above <= refuse_above, "
                                 f"got {settings.unfamiliar_above} and {settings.refuse_above}")
        return settings

    def card_section(self) -> dict:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def type_of(field) -> type:
    return {"str": str, "int": int, "float": float}[field.type]


def unit_rows(features: np.ndarray) -> np.ndarray:
    features = np.atleast_2d(np.asarray(features, dtype=np.float32))
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Reference:
    """The training scans' features at unit length; score = mean cosine distance to the
    `neighbours` nearest of them (0: identical direction, 1: orthogonal)."""

    features: np.ndarray  # (scans, features), unit rows
    neighbours: int

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Score of each row of `features` (n, features)."""
        distances = 1.0 - unit_rows(features) @ self.features.T
        nearest = np.partition(distances, self.neighbours - 1, axis=1)[:, :self.neighbours]
        return nearest.mean(axis=1).astype(np.float64)

    @classmethod
    def fit(cls, train_features: np.ndarray, neighbours: int) -> "Reference":
        """Stored as float16 (halves the file; moves scores by < 1e-4)."""
        return cls(unit_rows(train_features).astype(np.float16).astype(np.float32), neighbours)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, features=self.features.astype(np.float16), neighbours=self.neighbours)

    @classmethod
    def load(cls, path: Path) -> "Reference":
        with np.load(path) as saved:
            return cls(saved["features"].astype(np.float32), int(saved["neighbours"]))


@dataclass(frozen=True)
class InputVerdict:
    score: float
    verdict: str

    @property
    def refused(self) -> bool:
        return self.verdict == REFUSED

    @property
    def unfamiliar(self) -> bool:
        return self.verdict == UNFAMILIAR

    def as_json(self) -> dict:
        """What the API and the CLI report (`refused` never reaches a scored answer)."""
        return {"score": round(self.score, 4), "verdict": self.verdict}


def verdict_for(score: float, settings: InputCheckSettings) -> str:
    if score > settings.refuse_above:
        return REFUSED
    return UNFAMILIAR if score > settings.unfamiliar_above else ACCEPTED


class InputCheck:
    """The feature model, the reference and the thresholds; `check` gives one image's verdict."""

    def __init__(self, features: Model, reference: Reference, settings: InputCheckSettings):
        self.features, self.reference, self.settings = features, reference, settings

    def input(self, gray: np.ndarray) -> np.ndarray:
        return check_input(gray, self.settings.square_size, self.settings.input_size)

    def score_gray(self, gray: np.ndarray) -> float:
        return float(self.reference.scores(self.features(self.input(gray)[None]))[0])

    def check_gray(self, gray: np.ndarray) -> InputVerdict:
        """The verdict for a grayscale uint8 (H, W) scan (what `to_gray_array` gives)."""
        score = self.score_gray(gray)
        return InputVerdict(score, verdict_for(score, self.settings))

    def check(self, image: Image.Image) -> InputVerdict:
        return self.check_gray(to_gray_array(image))

    def info(self) -> dict:
        return {"method": self.settings.method, "neighbours": self.settings.neighbours,
                "unfamiliar_above": self.settings.unfamiliar_above, "refuse_above": self.settings.refuse_above}

    @classmethod
    def load(cls, models_dir: str | Path = MODELS_DIR, threads: int = 1) -> "InputCheck":
        """The check the card in `models_dir` describes. Raises ModelCardError for a card without
        an ``input_check`` section or files whose checksums differ from the card's."""
        from inference.pipeline import LiteRTModel

        pin_native_threads()
        models_dir = Path(models_dir)
        settings = InputCheckSettings.from_card(json.loads((models_dir / CARD_FILE).read_text()))
        for name, expected in ((settings.feature_model, settings.feature_model_sha256),
                               (settings.reference, settings.reference_sha256)):
            path = models_dir / name
            if not path.is_file():
                raise ModelCardError(f"input check file {path} is missing: python -m training input-check")
            if sha256(path) != expected:
                raise ModelCardError(f"{path} differs from the one the input check was fitted with "
                                     "(checksum): re-fit it with python -m training input-check")
        reference = Reference.load(models_dir / settings.reference)
        if reference.neighbours != settings.neighbours:
            raise ModelCardError(f"{settings.reference} says {reference.neighbours} neighbours, the card "
                                 f"{settings.neighbours}: re-fit with python -m training input-check")
        return cls(LiteRTModel(models_dir / settings.feature_model, threads), reference, settings)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
