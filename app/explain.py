"""What a decision means, in plain language, and what to do next.

One decision (`inference.pipeline.Decision`) is told one way on the page, in the API and in the
report: the most probable class is "most likely", and the malignant flag is said separately, in
the headline. The branch table below (headline, summary, next steps) is the only place these
texts are chosen. The only numbers stated are the scan's own probabilities, the flag threshold
and the model's measured rates from the card's public summary.

Written for a patient reading alone: short sentences, calm, never alarming and never soothing;
nobody with a symptom is told that a normal answer settles anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from inference.pipeline import Prediction
from inference.public_summary import PublicSummary

DISCLAIMER_DETAIL = ("It is an automated estimate from one image and can be wrong. Only a doctor, "
                     "with your full history and imaging, can tell you what a finding is.")
DISCLAIMER = f"This is not a diagnosis. {DISCLAIMER_DETAIL}"

# How each class is named on the page.
CLASS_TITLES = {"benign": "Benign (not cancer)", "malignant": "Malignant (may be cancer)",
                "normal": "Normal (no lump found)"}

# Below this top-class probability the result says plainly that the model is unsure.
UNCERTAIN_BELOW = 0.6
UNCERTAIN_NOTE = ("The model is uncertain about this scan: no answer reached {threshold}. Treat this "
                  "result with extra caution and ask a doctor to look at the scan.")

FLAG_NOTE = ("Flagged for a doctor's review: a {threshold} chance of cancer is enough to check, and the "
             "model estimates {chance} for this scan.")
ACCURACY_NOTE = ("How often the model is right: on {scans} scans it had not seen in training, its answer "
                 "was right about {right} times in 100.")

# (most probable class, malignant flagged) -> headline. Malignant on top is flagged whenever the
# threshold is at most 1/3 (the card's 0.2); the unflagged row covers higher thresholds.
HEADLINES = {
    ("benign", False): "Most likely benign (not cancer)",
    ("benign", True): "Most likely benign (not cancer), but flagged for a doctor's review",
    ("normal", False): "Most likely normal: the model found no lump on this scan",
    ("normal", True): "Most likely normal, but flagged for a doctor's review",
    ("malignant", True): "Most likely malignant (may be cancer): flagged for a doctor's review",
    ("malignant", False): "Most likely malignant (may be cancer)",
}

# (most probable class, lesion outlined on the scan) -> what it means.
NORMAL_MISSES = ("The model can miss a lump: on scans with a lump that it had not seen in training, it "
                 "answered normal about {missed} times in 100. An ultrasound image also shows only one "
                 "slice of the breast.")
SUMMARIES = {
    ("benign", True): ("The model outlined an area and estimates that it looks more like a common "
                       "non-cancerous lump, such as a cyst or a fibroadenoma, than a cancer. The model "
                       "can be wrong."),
    ("benign", False): ("The model estimates that the scan looks most like a benign lump, but it did not "
                        "outline a clear area, so this answer rests on less. The model can be wrong."),
    ("malignant", True): ("The model outlined an area with features that can be a sign of breast cancer. "
                          "This does not mean you have cancer: benign lumps can look similar, and only "
                          "further tests can tell."),
    ("malignant", False): ("The model sees features that can be a sign of breast cancer, although it did "
                           "not outline a clear area. This does not mean you have cancer: only further "
                           "tests can tell."),
    ("normal", False): "The model did not outline a lump on this scan. " + NORMAL_MISSES,
    ("normal", True): ("The model outlined an area, but estimates that the scan looks most like normal "
                       "tissue. " + NORMAL_MISSES),
}

SYMPTOM_STEP = ("If a lump or another change was felt or seen (by you or a doctor), a doctor needs to "
                "examine it, whatever this result says.")
# Next steps: by the most probable class, or "flagged" when malignant is flagged below the top.
NEXT_STEPS = {
    "malignant": (
        "Make an appointment with your doctor soon, and bring this result and the scan with you.",
        "Ask whether you need a diagnostic mammogram or another ultrasound and, possibly, a biopsy "
        "(a small sample of tissue) to find out what the area is.",
        "If you are worried while you wait, it is fine to call your doctor's office and ask for the "
        "earliest appointment, or to bring someone with you.",
    ),
    "flagged": (
        "Make an appointment with your doctor soon, and bring this result and the scan with you: the "
        "estimated chance of cancer is high enough that a doctor should look at it.",
        "Ask whether you need a diagnostic mammogram or another ultrasound and, possibly, a biopsy "
        "(a small sample of tissue) to find out what the area is.",
        "Being flagged does not mean you have cancer. It means this scan should be checked, not left.",
    ),
    "benign": (
        "Share this scan and result with your doctor: a lump that looks benign still needs a "
        "professional opinion.",
        "Your doctor may suggest a follow-up ultrasound after some months to check that the lump has "
        "not changed.",
        "See a doctor sooner if the lump grows or becomes painful, or if you notice skin changes or "
        "discharge from the nipple.",
    ),
    "normal": (
        SYMPTOM_STEP,
        "Share this scan and result with your doctor: an examination and the full imaging can show "
        "what one image cannot.",
        "See a doctor if you notice a new lump, changes in the shape or skin of your breast, or "
        "discharge from the nipple.",
    ),
}


def percent(probability: float) -> str:
    """A probability as the page shows it: whole percent, "<1%" for the tiny ones."""
    return "<1%" if probability < 0.005 else f"{probability:.0%}"


@dataclass(frozen=True)
class Explanation:
    headline: str  # the most likely class, and the malignant flag when raised
    flag_note: str | None  # why it is flagged, with the chance (None when not flagged)
    summary: str  # what the finding means
    accuracy_note: str  # how often the model is right, from the card
    next_steps: tuple[str, ...]
    uncertain_note: str | None  # when no class reached UNCERTAIN_BELOW

    @property
    def uncertain(self) -> bool:
        return self.uncertain_note is not None

    @property
    def text(self) -> str:
        """Everything but the steps, as one paragraph (the API's `explanation`)."""
        parts = (self.headline + ".", self.flag_note, self.uncertain_note, self.summary, self.accuracy_note)
        return " ".join(part for part in parts if part)


def explain(prediction: Prediction, facts: PublicSummary, malignant_threshold: float) -> Explanation:
    """The texts for one prediction: its row of the branch table, filled with its numbers."""
    decision, probabilities = prediction.decision, prediction.probabilities
    most_likely, flagged = decision.most_probable, decision.malignant_flagged
    flagged_below_top = flagged and most_likely != "malignant"
    top = probabilities[most_likely]
    return Explanation(
        headline=HEADLINES[most_likely, flagged],
        flag_note=FLAG_NOTE.format(threshold=percent(malignant_threshold),
                                   chance=percent(probabilities["malignant"])) if flagged else None,
        summary=SUMMARIES[most_likely, bool(prediction.mask.any())].format(
            missed=round(100 * facts.lesions_called_normal)),
        accuracy_note=ACCURACY_NOTE.format(scans=facts.scans, right=round(100 * facts.accuracy)),
        next_steps=NEXT_STEPS["flagged" if flagged_below_top else most_likely],
        uncertain_note=(UNCERTAIN_NOTE.format(threshold=percent(UNCERTAIN_BELOW))
                        if top < UNCERTAIN_BELOW else None),
    )
