"""What a decision means, in plain language, and what to do next.

One decision (`inference.pipeline.Decision`) is told one way on the page, in the API and in the
report: the most probable class is "most likely", and the malignant flag is said separately, in
the headline. The branch table below (headline, summary, next steps) is the only place these
texts are chosen. The only numbers stated are the scan's own probabilities, the flag threshold
and the model's measured rates from the card's public summary.

Every text is an English message id, marked with N_ and translated where it is used
(translations/fr holds the French). Written for a patient reading alone: short sentences, calm, never alarming and never soothing;
nobody with a symptom is told that a normal answer settles anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_percent
from flask_babel import gettext

from app.i18n import N_, current_language
from inference.pipeline import UNCERTAIN_BELOW, Prediction, is_uncertain
from inference.public_summary import PublicSummary

DISCLAIMER_DETAIL = N_("It is an automated estimate from one image and can be wrong. Only a doctor, "
                       "with your full history and imaging, can tell you what a finding is.")
NOT_A_DIAGNOSIS = N_("This is not a diagnosis.")

# How each class is named on the page.
CLASS_TITLES = {"benign": N_("Benign (not cancer)"), "malignant": N_("Malignant (may be cancer)"),
                "normal": N_("Normal (no lump found)")}

UNCERTAIN_NOTE = N_("The model is uncertain about this scan: no answer reached %(threshold)s. Treat "
                    "this result with extra caution and ask a doctor to look at the scan.")

FLAG_NOTE = N_("Flagged for a doctor's review: a %(threshold)s chance of cancer is enough to check, and "
               "the model estimates %(chance)s for this scan.")
ACCURACY_NOTE = N_("How often the model is right: on %(scans)s scans it had not seen in training, its "
                   "answer was right about %(right)s times in 100.")

# (most probable class, malignant flagged) -> headline. Malignant on top is flagged whenever the
# threshold is at most 1/3 (the card's 0.2); the unflagged row covers higher thresholds.
HEADLINES = {
    ("benign", False): N_("Most likely benign (not cancer)"),
    ("benign", True): N_("Most likely benign (not cancer), but flagged for a doctor's review"),
    ("normal", False): N_("Most likely normal: the model found no lump on this scan"),
    ("normal", True): N_("Most likely normal, but flagged for a doctor's review"),
    ("malignant", True): N_("Most likely malignant (may be cancer): flagged for a doctor's review"),
    ("malignant", False): N_("Most likely malignant (may be cancer)"),
}

# (most probable class, lesion outlined on the scan) -> what it means.
SUMMARIES = {
    ("benign", True): N_("The model outlined an area and estimates that it looks more like a common "
                         "non-cancerous lump, such as a cyst or a fibroadenoma, than a cancer. The model "
                         "can be wrong."),
    ("benign", False): N_("The model estimates that the scan looks most like a benign lump, but it did not "
                          "outline a clear area, so this answer rests on less. The model can be wrong."),
    ("malignant", True): N_("The model outlined an area with features that can be a sign of breast cancer. "
                            "This does not mean you have cancer: benign lumps can look similar, and only "
                            "further tests can tell."),
    ("malignant", False): N_("The model sees features that can be a sign of breast cancer, although it did "
                             "not outline a clear area. This does not mean you have cancer: only further "
                             "tests can tell."),
    ("normal", False): N_("The model did not outline a lump on this scan. The model can miss a lump: on "
                          "scans with a lump that it had not seen in training, it answered normal about "
                          "%(missed)s times in 100. An ultrasound image also shows only one slice of the "
                          "breast."),
    ("normal", True): N_("The model outlined an area, but estimates that the scan looks most like normal "
                         "tissue. The model can miss a lump: on scans with a lump that it had not seen in "
                         "training, it answered normal about %(missed)s times in 100. An ultrasound image "
                         "also shows only one slice of the breast."),
}

SYMPTOM_STEP = N_("If a lump or another change was felt or seen (by you or a doctor), a doctor needs to "
                  "examine it, whatever this result says.")
# Next steps: by the most probable class, or "flagged" when malignant is flagged below the top.
NEXT_STEPS = {
    "malignant": (
        N_("Make an appointment with your doctor soon, and bring this result and the scan with you."),
        N_("Ask whether you need a diagnostic mammogram or another ultrasound and, possibly, a biopsy "
           "(a small sample of tissue) to find out what the area is."),
        N_("If you are worried while you wait, it is fine to call your doctor's office and ask for the "
           "earliest appointment, or to bring someone with you."),
    ),
    "flagged": (
        N_("Make an appointment with your doctor soon, and bring this result and the scan with you: the "
           "estimated chance of cancer is high enough that a doctor should look at it."),
        N_("Ask whether you need a diagnostic mammogram or another ultrasound and, possibly, a biopsy "
           "(a small sample of tissue) to find out what the area is."),
        N_("Being flagged does not mean you have cancer. It means this scan should be checked, not left."),
    ),
    "benign": (
        N_("Share this scan and result with your doctor: a lump that looks benign still needs a "
           "professional opinion."),
        N_("Your doctor may suggest a follow-up ultrasound after some months to check that the lump has "
           "not changed."),
        N_("See a doctor sooner if the lump grows or becomes painful, or if you notice skin changes or "
           "discharge from the nipple."),
    ),
    "normal": (
        SYMPTOM_STEP,
        N_("Share this scan and result with your doctor: an examination and the full imaging can show "
           "what one image cannot."),
        N_("See a doctor if you notice a new lump, changes in the shape or skin of your breast, or "
           "discharge from the nipple."),
    ),
}


def percent(probability: float) -> str:
    """A probability as the page shows it, in the request's language: whole percent, "<1%" below 0.5%."""
    if probability < 0.005:
        return "<" + format_percent(0.01, locale=current_language())
    return format_percent(probability, locale=current_language())


def disclaimer() -> str:
    """The not-a-diagnosis notice, in the request's language."""
    return f"{gettext(NOT_A_DIAGNOSIS)} {gettext(DISCLAIMER_DETAIL)}"


def class_titles() -> dict[str, str]:
    """Each class's name on the page, in the request's language."""
    return {name: gettext(title) for name, title in CLASS_TITLES.items()}


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
    """The texts for one prediction, in the request's language: its row of the branch table,
    filled with its numbers."""
    decision, probabilities = prediction.decision, prediction.probabilities
    most_likely, flagged = decision.most_probable, decision.malignant_flagged
    flagged_below_top = flagged and most_likely != "malignant"
    return Explanation(
        headline=gettext(HEADLINES[most_likely, flagged]),
        flag_note=gettext(FLAG_NOTE, threshold=percent(malignant_threshold),
                          chance=percent(probabilities["malignant"])) if flagged else None,
        summary=gettext(SUMMARIES[most_likely, bool(prediction.mask.any())],
                        missed=round(100 * facts.lesions_called_normal)),
        accuracy_note=gettext(ACCURACY_NOTE, scans=facts.scans, right=round(100 * facts.accuracy)),
        next_steps=tuple(gettext(step) for step in NEXT_STEPS["flagged" if flagged_below_top else most_likely]),
        uncertain_note=(gettext(UNCERTAIN_NOTE, threshold=percent(UNCERTAIN_BELOW))
                        if is_uncertain(probabilities) else None),
    )
