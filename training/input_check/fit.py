"""Fit the learned input check (`python -m training input-check`); see inference/input_check.py.

1. Build ImageNet EfficientNet-Lite0 (training/pretrained.py), global-average-pooled, and export
   it to LiteRT (`models/input_check.tflite`).
2. Run the exported file (what serves) on the training scans of every source: BUSI and BUS-BRA.
3. Store their unit-length features (float16) in `models/input_check.npz`; an upload's score
   is its mean cosine distance to its `NEIGHBOURS` nearest training scans. (Chosen over a
   Mahalanobis distance in PCA space, which let photos through: docs/models.md, "The input
   check", has the comparison.)
4. Score the validation scans of every source; the refusal threshold is the smallest distance
   that refuses at most 1% of each source's validation scans, "unfamiliar" starts at the
   largest of the sources' 97.5th percentiles.
5. The feature model is exported in float16 and in full-integer int8 (activation ranges from
   training scans); steps 2-4 run for each, and int8 is served only when it refuses every
   non-ultrasound image of the project's set that float16 refuses and no more validation scans.
6. Write the card's ``input_check`` section (method, files and checksums, thresholds, reference
   counts, validation refusals, the precision comparison). Only that section is touched, so this
   runs after `export`.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.input_check import (
    CARD_FILE,
    CARD_SECTION,
    FEATURE_FILE,
    REFERENCE_FILE,
    InputCheckSettings,
    Reference,
    check_input,
    sha256,
)
from training import card as model_card
from training import data
from training.sources import Source

VARIANT = "lite0"
SQUARE_SIZE, INPUT_SIZE = 256, 224
NEIGHBOURS = 5
MAX_REFUSED_SHARE = 0.01  # of each source's validation scans
UNFAMILIAR_QUANTILE = 0.975
# Validation scans come from the scanners training saw; another hospital's scanner sits further
# from them. A refusal (no answer at all) is kept for images clearly unlike any scan: the refusal
# line lies this factor beyond the validation-chosen distance, and scans in between are answered
# with the "unfamiliar" warning. A design choice, not tuned on any test or evaluation set.
UNSEEN_SCANNER_MARGIN = 1.25


def build_feature_model():
    """ImageNet EfficientNet-Lite0 on raw RGB [0, 255], average-pooled to 1280 features."""
    from training.pretrained import build_efficientnet_lite

    return build_efficientnet_lite(VARIANT, (INPUT_SIZE, INPUT_SIZE, 3), weights="imagenet", pooling="avg",
                                   name="input_check_features")


def export_feature_model(path: Path, float16: bool = True, representative: np.ndarray | None = None):
    """The Keras feature model, exported to LiteRT at `path` (full-integer int8 with
    `representative` inputs); returns the Keras model."""
    from training.export import to_litert

    model = build_feature_model()
    to_litert(model, path, float16=float16 and representative is None, representative=representative)
    return model


REPRESENTATIVE_SCANS = 96  # training scans that set the int8 feature model's activation ranges


def representative_inputs(sources: list[Source], seed: int = 0) -> np.ndarray:
    """The feature model's inputs for REPRESENTATIVE_SCANS training scans, sources alike."""
    rng = np.random.default_rng(seed)
    inputs = []
    for source in sources:
        keys = [r["key"] for r in source.manifest["images"] if r["split"] == "train"]
        picked = set(rng.permutation(keys)[:REPRESENTATIVE_SCANS // len(sources)])
        inputs += [check_input(data.load_image(s), SQUARE_SIZE, INPUT_SIZE)
                   for s in data.find_samples(source.root) if s.key in picked]
    return np.stack(inputs)


@dataclass
class FittedCheck:
    """One feature model's reference, thresholds and refusals (validation scans, non-ultrasound images)."""

    path: Path
    train: dict[str, np.ndarray]
    reference: Reference
    val_scores: dict[str, np.ndarray]
    unfamiliar: float
    refuse: float
    non_ultrasound_refused: np.ndarray  # bool per image of training.input_check.non_ultrasound.build()

    @property
    def validation_refused(self) -> int:
        return int(sum((s > self.refuse).sum() for s in self.val_scores.values()))


def fit_variant(path: Path, sources: list[Source], non_ultrasound: list[np.ndarray], neighbours: int) -> FittedCheck:
    from inference.pipeline import LiteRTModel

    litert = LiteRTModel(path, 1)
    train = {s.name: source_features(litert, s, "train") for s in sources}
    reference = Reference.fit(np.concatenate(list(train.values())), neighbours)
    val_scores = {s.name: reference.scores(source_features(litert, s, "val")) for s in sources}
    unfamiliar, refuse = (ceil4(value) for value in choose_thresholds(val_scores))
    refused = reference.scores(features_of(litert, non_ultrasound)) > refuse
    return FittedCheck(path, train, reference, val_scores, unfamiliar, refuse, refused)


def int8_refuses_as_well(float16: FittedCheck, int8: FittedCheck) -> bool:
    """int8 refuses every non-ultrasound image float16 refuses, and no more validation scans."""
    return bool(np.all(int8.non_ultrasound_refused[float16.non_ultrasound_refused])
                and int8.validation_refused <= float16.validation_refused)


def features_of(model, grays) -> np.ndarray:
    """(n, features) from a LiteRT/Keras-like callable taking a batch of one."""
    return np.stack([np.asarray(model(check_input(g, SQUARE_SIZE, INPUT_SIZE)[None])).reshape(-1) for g in grays])


def source_features(model, source: Source, split: str) -> np.ndarray:
    wanted = {r["key"] for r in source.manifest["images"] if r["split"] == split}
    return features_of(model, (data.load_image(s) for s in data.find_samples(source.root) if s.key in wanted))


def refusal_threshold(scores: np.ndarray, max_share: float = MAX_REFUSED_SHARE) -> float:
    """The smallest distance above which at most `max_share` of `scores` lie."""
    allowed = math.floor(max_share * len(scores))
    return float(np.sort(scores)[::-1][allowed])


def choose_thresholds(val_scores: dict[str, np.ndarray]) -> tuple[float, float]:
    """(unfamiliar_above, refuse_above) that hold for every source's validation scores."""
    refuse = UNSEEN_SCANNER_MARGIN * max(refusal_threshold(s) for s in val_scores.values())
    unfamiliar = max(float(np.quantile(s, UNFAMILIAR_QUANTILE)) for s in val_scores.values())
    return min(unfamiliar, refuse), refuse


def ceil4(value: float) -> float:
    """Rounded up to 4 decimals (the card's precision), so no validation scan crosses a threshold."""
    return math.ceil(value * 1e4) / 1e4


def fit_input_check(models_dir: Path, sources: list[Source], float16: bool = True,
                    neighbours: int = NEIGHBOURS) -> dict:
    """Export both precisions, extract, fit, choose thresholds and the precision, and write the
    card section; returns the section."""
    from inference.preprocessing import to_gray_array
    from training.input_check.non_ultrasound import build

    start = time.time()
    feature_path = models_dir / FEATURE_FILE
    float_name = "float16" if float16 else "float32"
    with tempfile.TemporaryDirectory() as folder:
        paths = {float_name: Path(folder) / "features_float.tflite", "int8": Path(folder) / "features_int8.tflite"}
        export_feature_model(paths[float_name], float16=float16)
        export_feature_model(paths["int8"], representative=representative_inputs(sources))
        non_ultrasound = [to_gray_array(image) for _, _, image in build()]
        fitted = {name: fit_variant(path, sources, non_ultrasound, neighbours) for name, path in paths.items()}
        precision = "int8" if int8_refuses_as_well(fitted[float_name], fitted["int8"]) else float_name
        chosen = fitted[precision]
        feature_path.write_bytes(chosen.path.read_bytes())
    train, val_scores, unfamiliar, refuse = chosen.train, chosen.val_scores, chosen.unfamiliar, chosen.refuse
    reference_path = models_dir / REFERENCE_FILE
    chosen.reference.save(reference_path)
    settings = InputCheckSettings(
        method="knn_cosine", feature_model=FEATURE_FILE, feature_model_sha256=sha256(feature_path),
        reference=REFERENCE_FILE, reference_sha256=sha256(reference_path), square_size=SQUARE_SIZE,
        input_size=INPUT_SIZE, neighbours=neighbours, unfamiliar_above=unfamiliar, refuse_above=refuse)
    section = settings.card_section() | {
        "precision": precision,
        "precision_comparison": {name: {"non_ultrasound_refused": int(f.non_ultrasound_refused.sum()),
                                        "non_ultrasound_images": len(non_ultrasound),
                                        "validation_refused": f.validation_refused}
                                 for name, f in fitted.items()},
        "description": ("Mean cosine distance of the upload's ImageNet EfficientNet-Lite0 features "
                        f"(average-pooled, {precision} LiteRT) to its {neighbours} "
                        "nearest training scans of every source. "
                        f"Refused above refuse_above ({UNSEEN_SCANNER_MARGIN} times the distance that refuses "
                        "at most 1% of each source's validation scans, a margin for scanners not in the data), "
                        "answered but flagged unfamiliar above unfamiliar_above "
                        f"(largest per-source {UNFAMILIAR_QUANTILE:.1%} validation quantile)."),
        "feature_model_bytes": feature_path.stat().st_size,
        "reference_counts": {name: len(f) for name, f in train.items()},
        "validation": {name: {"scans": len(s), "refused": int((s > refuse).sum()),
                              "unfamiliar": int(((s > unfamiliar) & (s <= refuse)).sum())}
                       for name, s in val_scores.items()},
    }
    card_path = models_dir / CARD_FILE
    card = json.loads(card_path.read_text())
    card[CARD_SECTION] = section
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    model_card.write(models_dir)  # the Markdown card shows the new section too
    print(json.dumps(section, indent=1))
    print(f"input check fitted in {time.time() - start:.0f} s")
    return section
