"""The model card's `public_summary`: the few measured numbers the patient-facing texts state.

One small section, so that every sentence like "on scans it had not seen, it was right about 64
times in 100" reads one agreed number, and a card without it is a start-up error rather than a
page that invents or omits it. It also says where the training scans came from (country and
scanners of each source), so the texts can state the model's scope. `training.summary` computes
it from an evaluation.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from inference.pipeline import CARD_FILE
from inference.settings import ModelCardError

SECTION = "public_summary"


@dataclass(frozen=True)
class SourceSummary:
    """One training source's origin and its held-out test scans' figures."""
    name: str  # the data set as cited ("BUSI")
    country: str  # ISO 3166-1 alpha-2 code of the hospital's country, named in the reader's language
    scanners: tuple[str, ...]  # the scanner models its scans were taken on
    scans: int  # held-out test scans
    right: int  # of which the reported label was right
    confident: int  # given with a top probability of at least the summary's `confident_at`
    confident_right: int  # of which the reported label was right

    @property
    def accuracy(self) -> float:
        return self.right / self.scans

    @property
    def confident_accuracy(self) -> float | None:
        return self.confident_right / self.confident if self.confident else None


@dataclass(frozen=True)
class PublicSummary:
    accuracy: float  # share of held-out scans whose reported label was right
    lesions_called_normal: float  # share of held-out lesion scans (benign or malignant) reported normal
    scans: int  # how many held-out scans these were measured on
    evaluated_on: str  # which scans, in words (for the card and the API, not the patient texts)
    confident_at: float  # the top probability from which an answer counts as confident
    sources: tuple[SourceSummary, ...]  # each training source, in the card's order

    @classmethod
    def from_card(cls, card: dict) -> "PublicSummary":
        """The card's section, checked; ModelCardError says what is missing or wrong."""
        section = card.get(SECTION)
        if not isinstance(section, dict):
            raise ModelCardError(f"model card lacks its {SECTION!r} section: run python -m training evaluate")
        try:
            sources = tuple(SourceSummary(str(s["name"]), str(s["country"]), tuple(map(str, s["scanners"])),
                                          *(int(s[key]) for key in ("scans", "right", "confident", "confident_right")))
                            for s in section["sources"])
            summary = cls(float(section["accuracy"]), float(section["lesions_called_normal"]),
                          int(section["scans"]), str(section["evaluated_on"]), float(section["confident_at"]),
                          sources)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelCardError(f"model card {SECTION} is incomplete or malformed ({error!r})") from None
        if not (0 <= summary.accuracy <= 1 and 0 <= summary.lesions_called_normal <= 1 and summary.scans > 0
                and 0.5 <= summary.confident_at < 1 and sources and all(_sound(s) for s in sources)):
            raise ModelCardError(f"model card {SECTION} has a rate outside 0-1, no scans or no sources: {section}")
        return summary

    def as_card_section(self) -> dict:
        return asdict(self)


def _sound(source: SourceSummary) -> bool:
    return (len(source.country) == 2 and bool(source.scanners) and 0 <= source.right <= source.scans > 0
            and 0 <= source.confident_right <= source.confident <= source.scans)


def load_public_summary(models_dir: str | Path) -> PublicSummary:
    """The summary in `models_dir`'s model card (ModelCardError if it lacks one)."""
    return PublicSummary.from_card(json.loads((Path(models_dir) / CARD_FILE).read_text()))
