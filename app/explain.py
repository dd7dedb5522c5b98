"""What a result means, in plain language, and what to do next.

Written for a patient reading alone: short sentences, no numbers we cannot stand behind
(no made-up rates or odds), calm even when the news calls for action.
"""
from __future__ import annotations

from dataclasses import dataclass

DISCLAIMER_DETAIL = ("It is an automated estimate from one image and can be wrong. Only a doctor, "
                     "with your full history and imaging, can tell you what a finding is.")
DISCLAIMER = f"This is not a diagnosis. {DISCLAIMER_DETAIL}"

# How each class is named on the page.
CLASS_TITLES = {"benign": "Benign (not cancer)", "malignant": "Malignant (may be cancer)",
                "normal": "Normal (no lump seen)"}

# Below this top-class probability the result says plainly that the model is unsure.
UNCERTAIN_BELOW = 0.6
UNCERTAIN_NOTE = ("The model is uncertain about this scan: no answer reached "
                  f"{UNCERTAIN_BELOW:.0%}. Treat this result with extra caution and ask a "
                  "doctor to look at the scan.")


def is_uncertain(probabilities: dict[str, float]) -> bool:
    """No class reached UNCERTAIN_BELOW: the page, the API and the batch CLI all flag it."""
    return max(probabilities.values()) < UNCERTAIN_BELOW


# When malignant is reported although another answer is more probable (see
# inference.pipeline.decide), the summary says so instead of implying it is the likeliest answer.
FLAGGED_NOTE = ("Another answer is more likely, but the estimated chance of a cancer ({chance:.0%}) is "
                "high enough that we flag it: a doctor should check this scan.")


@dataclass(frozen=True)
class Explanation:
    headline: str
    summary: str
    next_steps: tuple[str, ...]
    uncertain: bool

    @property
    def text(self) -> str:
        """Headline, summary and (when unsure) the uncertainty note as one paragraph."""
        parts = [self.headline + ".", self.summary]
        if self.uncertain:
            parts.append(UNCERTAIN_NOTE)
        return " ".join(parts)


_BY_LABEL = {
    "benign": (
        "The model sees a lump that looks benign (not cancer)",
        "It outlined an area and estimates that it is more likely a common non-cancerous "
        "lump, such as a cyst or a fibroadenoma, than a cancer. The model can be wrong.",
        ("Share this scan and result with your doctor: a lump that looks benign still needs "
         "a professional opinion.",
         "Your doctor may suggest a follow-up ultrasound after some months to check that "
         "the lump has not changed.",
         "See a doctor sooner if the lump grows or becomes painful, or if you notice skin "
         "changes or discharge from the nipple."),
    ),
    "malignant": (
        "The model sees features that can be a sign of breast cancer",
        "It outlined an area and estimates that it may be a cancer. This does not mean you "
        "have cancer: the model can be wrong, benign lumps can look similar, and only "
        "further tests can tell.",
        ("Make an appointment with your doctor soon, and bring this scan with you.",
         "Ask whether you need a diagnostic mammogram or another ultrasound and, possibly, a "
         "biopsy (a small sample of tissue) to find out what the area is.",
         "If you are worried while you wait, it is fine to call your doctor's office and ask "
         "for the earliest appointment, or to bring someone with you."),
    ),
    "normal": (
        "The model does not see a lump in this scan",
        "This is reassuring, but an ultrasound image shows only one slice of the breast and "
        "the model can miss things.",
        ("Keep to your usual breast screening schedule.",
         "If you had this scan because of a symptom, talk to your doctor about it whatever "
         "this result says.",
         "See a doctor if you feel a new lump or notice changes in the shape or skin of your "
         "breast, or discharge from the nipple."),
    ),
}


def explain(label: str, probabilities: dict[str, float]) -> Explanation:
    """The texts for the predicted `label`, flagged uncertain when no class is clearly ahead."""
    headline, summary, next_steps = _BY_LABEL[label]
    if probabilities[label] < max(probabilities.values()):
        summary = f"{summary} {FLAGGED_NOTE.format(chance=probabilities[label])}"
    return Explanation(headline, summary, next_steps, is_uncertain(probabilities))
