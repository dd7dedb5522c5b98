"""The one source of truth for how the models are run: `InferenceSettings`, read from the card.

Export writes every field into `model_card.json`; loading reads every field back and refuses a
card that lacks one, so the served pipeline never runs on a silent default. A new input kind,
size or backbone is a change to the card's values (and, for a new kind, one entry in
`inference.input_kinds`), not to the code that runs the steps.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from inference.input_kinds import CLASSIFIER_INPUTS, UNET_INPUTS

CLASS_NAMES = ("benign", "malignant", "normal")
# The classifier backbones training builds (training.models); the card names one.
CLASSIFIER_BACKBONES = ("efficientnet-lite0", "efficientnet-lite2", "efficientnetb3")


class ModelCardError(ValueError):
    """The model card cannot describe how to run its models (a missing or unknown field)."""


@dataclass(frozen=True)
class InferenceSettings:
    """How a pair of exported models is run, from the square to the reported label.

    The defaults are the training recipe's; `temperature` and `malignant_threshold` are fitted
    on validation at export (1.0 and 1.0 mean uncalibrated and "most probable class").
    """

    square_size: int = 256  # both networks start from the scan resized to this square
    unet_size: int = 224  # the UNet works on a downscaled square; its mask is upsampled back
    unet_input: str = "gray_pixels"  # a key of input_kinds.UNET_INPUTS
    classifier_size: int = 224
    classifier_input: str = "two_view"  # a key of input_kinds.CLASSIFIER_INPUTS
    backbone: str = "efficientnet-lite2"  # one of CLASSIFIER_BACKBONES
    weights: str = "imagenet"  # where the backbones started: "imagenet" or "none" (from scratch)
    mask_threshold: float = 0.5
    # A predicted blob is kept only if it covers at least this share of the square and the UNet
    # is, on average over the blob, at least this sure of it. Chosen on the validation split:
    # together they halve the blobs on normal scans for a 0.01 loss of Dice on lesions.
    min_lesion_fraction: float = 0.0025
    min_lesion_confidence: float = 0.75
    # Average the classifier's logits over the input and its mirror image: a lesion's left and
    # right say the same, and the two views' errors partly cancel (measured on validation).
    flip_average: bool = True
    # ... but only when the first pass's calibrated probabilities lie within this margin of a
    # decision boundary (the malignant threshold, or the two most probable classes): farther
    # out the mirror pass changed no decision. 1.0 = always; export chooses it on validation.
    mirror_margin: float = 1.0
    temperature: float = 1.0
    malignant_threshold: float = 1.0
    # Normal is reported only with at least this calibrated probability and an outline covering
    # at most this share of the square (0: nothing outlined); else the likelier lesion class.
    normal_min_probability: float = 0.0
    normal_max_outline: float = 1.0
    # Below this top-class probability the answer is marked uncertain (chosen on validation).
    uncertain_below: float = 0.6
    threads: int = 1  # per LiteRT interpreter: one per worker suits two workers on two cores

    @classmethod
    def from_card(cls, card: dict) -> "InferenceSettings":
        """The settings a model card records; ModelCardError names the first field it lacks."""
        if tuple(card.get("classes", ())) != CLASS_NAMES:
            raise ModelCardError(f"model card classes {card.get('classes')} are not {list(CLASS_NAMES)}")
        values = {}
        for field in fields(cls):
            section, key = CARD_PLACES[field.name]
            try:
                values[field.name] = type(field.default)(card[section][key])
            except (KeyError, TypeError):
                raise ModelCardError(f"model card lacks {section}.{key}: re-export the models "
                                     "(python -m training export)") from None
        settings = cls(**values)
        settings.check_kinds()
        return settings

    def card_sections(self) -> dict[str, dict]:
        """Every field, placed as `from_card` reads it (merge into the card's sections)."""
        sections: dict[str, dict] = {}
        for field in fields(self):
            section, key = CARD_PLACES[field.name]
            sections.setdefault(section, {})[key] = getattr(self, field.name)
        return sections

    def check_kinds(self) -> None:
        """Raise ModelCardError unless both input kinds are ones `inference.input_kinds` knows."""
        for kind, known in ((self.unet_input, UNET_INPUTS), (self.classifier_input, CLASSIFIER_INPUTS)):
            if kind not in known:
                raise ModelCardError(f"unknown input kind {kind!r}; known: {', '.join(known)}")


# (card section, key) of each field: the card's layout, in one place.
CARD_PLACES = {
    "square_size": ("input", "square"),
    "unet_size": ("input", "unet"),
    "unet_input": ("input", "unet_kind"),
    "classifier_size": ("input", "classifier"),
    "classifier_input": ("input", "classifier_kind"),
    "backbone": ("model", "backbone"),
    "weights": ("model", "weights"),
    "mask_threshold": ("mask", "threshold"),
    "min_lesion_fraction": ("mask", "min_lesion_fraction"),
    "min_lesion_confidence": ("mask", "min_lesion_confidence"),
    "flip_average": ("inference", "flip_average"),
    "mirror_margin": ("inference", "mirror_margin"),
    "temperature": ("calibration", "temperature"),
    "malignant_threshold": ("decision", "malignant_threshold"),
    "normal_min_probability": ("decision", "normal_min_probability"),
    "normal_max_outline": ("decision", "normal_max_outline"),
    "uncertain_below": ("decision", "uncertain_below"),
    "threads": ("inference", "threads"),
}
