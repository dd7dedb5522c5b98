"""The model card's `public_summary`: the few measured numbers the patient-facing texts state.

One small section, so that every sentence like "on scans it had not seen, it was right about 64
times in 100" reads one agreed number, and a card without it is a start-up error rather than a
page that invents or omits it. `training.summary.public_summary` computes it from an evaluation.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from inference.pipeline import CARD_FILE
from inference.settings import ModelCardError

SECTION = "public_summary"


@dataclass(frozen=True)
class PublicSummary:
    accuracy: float  # share of held-out scans whose reported label was right
    lesions_called_normal: float  # share of held-out lesion scans (benign or malignant) reported normal
    scans: int  # how many held-out scans these were measured on
    evaluated_on: str  # which scans, in words (for the card and the API, not the patient texts)

    @classmethod
    def from_card(cls, card: dict) -> "PublicSummary":
        """The card's section, checked; ModelCardError says what is missing or wrong."""
        section = card.get(SECTION)
        if not isinstance(section, dict):
            raise ModelCardError(f"model card lacks its {SECTION!r} section: run python -m training evaluate")
        try:
            summary = cls(float(section["accuracy"]), float(section["lesions_called_normal"]),
                          int(section["scans"]), str(section["evaluated_on"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ModelCardError(f"model card {SECTION} is incomplete or malformed ({error!r})") from None
        if not (0 <= summary.accuracy <= 1 and 0 <= summary.lesions_called_normal <= 1 and summary.scans > 0):
            raise ModelCardError(f"model card {SECTION} has a rate outside 0-1 or no scans: {section}")
        return summary

    def as_card_section(self) -> dict:
        return asdict(self)


def load_public_summary(models_dir: str | Path) -> PublicSummary:
    """The summary in `models_dir`'s model card (ModelCardError if it lacks one)."""
    return PublicSummary.from_card(json.loads((Path(models_dir) / CARD_FILE).read_text()))
