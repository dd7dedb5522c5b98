"""What a decision means, in plain language, and what to do next.

One decision (`inference.pipeline.Decision`) is told one way on the page, in the API and in the
report: the most probable class is "most likely", and the malignant flag is said separately, in
the headline. The branch table below (headline, summary, next steps) is the only place these
texts are chosen. The only numbers stated are the scan's own probabilities, the flag threshold
and the model's measured rates from the card's public summary; no percentage is shown as 0% or
100% (`percent`). Every warning about one answer is a `Note` in `Explanation.notes`, the one list
the page, the report and the API all show, so none can be left out of one of them.

Every text is an English message id, marked with N_ and translated where it is used
(translations/fr holds the French). Written for a patient reading alone: short sentences, calm,
never alarming and never soothing; nobody with a symptom is told that a normal answer settles anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from babel.lists import format_list
from babel.numbers import format_percent
from flask_babel import gettext

from app.i18n import current_language, territory_name
from inference.marks import N_
from inference.pipeline import (
    LESION_WITHOUT_OUTLINE,
    LOW_CONFIDENCE,
    MEMBERS_DISAGREE,
    NORMAL_OVERRULED,
    OUTLINE_ON_NORMAL,
    Prediction,
)
from inference.public_summary import PublicSummary, SourceSummary
from inference.settings import InferenceSettings

DISCLAIMER_DETAIL = N_("It is an automated estimate from one image and can be wrong. Only a doctor, "
                       "with your full history and imaging, can tell you what a finding is.")
NOT_A_DIAGNOSIS = N_("This is not a diagnosis.")

# How each class is named on the page.
CLASS_TITLES = {"benign": N_("Benign (not cancer)"), "malignant": N_("Malignant (may be cancer)"),
                "normal": N_("Normal (no lump found)")}

UNCERTAIN_NOTE = N_("The model is uncertain about this scan: %(reasons)s. Treat this result with extra "
                    "caution and ask a doctor to look at the scan.")
# Why (inference.pipeline's caveats), joined into UNCERTAIN_NOTE in this order.
CAVEAT_REASONS = {
    LOW_CONFIDENCE: N_("no answer reached %(threshold)s"),
    MEMBERS_DISAGREE: N_("the versions of the model that vote on each scan do not all give the same answer"),
    LESION_WITHOUT_OUTLINE: N_("it gives a lump answer but did not outline a lump on the scan"),
    NORMAL_OVERRULED: N_("it leaned towards normal, but it outlined an area or was not sure enough to call "
                         "the scan normal"),
    OUTLINE_ON_NORMAL: N_("it gives a normal answer although it marked a small area as a possible lump"),
}
# When the classifier leaned normal but the outline or its doubt keeps a lump in play.
NORMAL_OVERRULED_HEADLINE = N_("Unclear: a lump cannot be ruled out on this scan")

FLAG_NOTE = N_("Flagged for a doctor's review: a %(threshold)s chance of cancer is enough to check, and "
               "the model estimates %(chance)s for this scan.")
ACCURACY_NOTE = N_("How often the model is right: on %(scans)s scans it had not seen in training, its "
                   "answer was right about %(right)s times in 100.")
NO_OUTLINE = N_("The model did not outline any area on this scan.")
UNFAMILIAR_TITLE = N_("This scan looks unlike those the model learnt from.")
UNFAMILIAR_NOTE = N_("It may come from another scanner, other settings or another kind of image, so this "
                     "result is less reliable than usual. Show the scan itself to your doctor rather than "
                     "relying on this result.")

# What the model learnt from (the card's sources) and what that means for other scans.
SCOPE_NOTE = N_("The model learnt only from scans of %(sources)s. A scan from another hospital or scanner "
                "can get a less reliable result, even when no warning is shown: show the scan itself to "
                "your doctor.")
SCOPE_SOURCE = N_("a hospital in %(country)s (scanners: %(scanners)s)")
# How far the percentages can be trusted: measured per source, never "calibrated" without numbers.
TRUST_NOTE = N_("The percentages are the model's own estimates, adjusted on scans it had not seen in "
                "training. They can be too sure, most of all on scans from other hospitals. On scans it "
                "had not seen:")
SOURCE_FIGURES = N_("%(country)s (%(source)s, %(scans)s scans): right about %(right)s times in 100; its "
                    "answers given at %(level)s or more (%(confident)s scans) were right about "
                    "%(confident_right)s times in 100.")
SOURCE_FIGURES_NONE_CONFIDENT = N_("%(country)s (%(source)s, %(scans)s scans): right about %(right)s times "
                                   "in 100; no answer reached %(level)s.")

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
    """A probability as the page shows it, in the request's language: whole percent, "<1%" below 0.5%
    and ">99%" from 99.5%: no estimate is ever certain, so 0% and 100% are never shown."""
    if probability < 0.005:
        return "<" + format_percent(0.01, locale=current_language())
    if probability >= 0.995:
        return ">" + format_percent(0.99, locale=current_language())
    return format_percent(probability, locale=current_language())


def in_100(share: float) -> int:
    """A measured share as "about N times in 100", never 0 or 100 unless it was exactly that."""
    return min(max(round(100 * share), 0 if share == 0 else 1), 100 if share == 1 else 99)


def disclaimer() -> str:
    """The not-a-diagnosis notice, in the request's language."""
    return f"{gettext(NOT_A_DIAGNOSIS)} {gettext(DISCLAIMER_DETAIL)}"


def class_titles() -> dict[str, str]:
    """Each class's name on the page, in the request's language."""
    return {name: gettext(title) for name, title in CLASS_TITLES.items()}


def model_scope(facts: PublicSummary) -> str:
    """Which hospitals and scanners the model learnt from (the card's sources), and that other
    scans can get less reliable results, in the request's language."""
    language = current_language()
    sources = [gettext(SCOPE_SOURCE, country=territory_name(source.country),
                       scanners=format_list(list(source.scanners), locale=language))
               for source in facts.sources]
    return gettext(SCOPE_NOTE, sources=format_list(sources, locale=language))


def trust_figures(facts: PublicSummary) -> tuple[str, ...]:
    """How far the percentages can be trusted: the measured figures per source, after TRUST_NOTE."""
    return (gettext(TRUST_NOTE), *(_source_figures(source, facts.confident_at) for source in facts.sources))


def _source_figures(source: SourceSummary, confident_at: float) -> str:
    figures = {"country": territory_name(source.country), "source": source.name, "scans": source.scans,
               "right": in_100(source.accuracy), "level": percent(confident_at)}
    if source.confident_accuracy is None:
        return gettext(SOURCE_FIGURES_NONE_CONFIDENT, **figures)
    return gettext(SOURCE_FIGURES, confident=source.confident, confident_right=in_100(source.confident_accuracy),
                   **figures)


@dataclass(frozen=True)
class Note:
    """One warning about one answer: the page, the report and the API each show every note."""
    kind: str  # "flag", "uncertain", "unfamiliar": how the page styles it
    text: str
    title: str | None = None  # a first sentence shown in bold

    def __str__(self) -> str:
        return f"{self.title} {self.text}" if self.title else self.text


@dataclass(frozen=True)
class Explanation:
    headline: str  # the most likely class, and the malignant flag when raised
    notes: tuple[Note, ...]  # every warning about this answer, most important first
    summary: str  # what the finding means
    accuracy_note: str  # how often the model is right, from the card
    scope: str  # what the model learnt from, and that other scans can get less reliable results
    trust: tuple[str, ...]  # how far the percentages can be trusted, per source, from the card
    next_steps: tuple[str, ...]
    scan_caption: str | None  # NO_OUTLINE when nothing is outlined (the page's own caption otherwise)

    def note(self, kind: str) -> Note | None:
        return next((note for note in self.notes if note.kind == kind), None)

    @property
    def uncertain(self) -> bool:
        return self.note("uncertain") is not None

    @property
    def text(self) -> str:
        """Everything but the steps and the figures, as one paragraph (the API's `explanation`)."""
        return " ".join((self.headline + ".", *map(str, self.notes), self.summary, self.accuracy_note, self.scope))


def explain(prediction: Prediction, facts: PublicSummary, settings: InferenceSettings,
            unfamiliar: bool = False) -> Explanation:
    """The texts for one prediction, in the request's language: its row of the branch table,
    filled with its numbers; `unfamiliar` when the input check found the scan unlike the training scans."""
    decision, probabilities = prediction.decision, prediction.probabilities
    flagged = decision.malignant_flagged
    # An overruled normal is told as the lesion class reported, under its own headline.
    most_likely = decision.label if decision.normal_overruled else decision.most_probable
    flagged_below_top = flagged and most_likely != "malignant"
    notes = (
        Note("flag", gettext(FLAG_NOTE, threshold=percent(settings.malignant_threshold),
                             chance=percent(probabilities["malignant"]))) if flagged else None,
        Note("uncertain", uncertain_note(prediction.caveats, settings.uncertain_below)) if prediction.caveats else None,
        Note("unfamiliar", gettext(UNFAMILIAR_NOTE), gettext(UNFAMILIAR_TITLE)) if unfamiliar else None,
    )
    return Explanation(
        headline=gettext(NORMAL_OVERRULED_HEADLINE if decision.normal_overruled else HEADLINES[most_likely, flagged]),
        notes=tuple(note for note in notes if note),
        summary=gettext(SUMMARIES[most_likely, bool(prediction.mask.any())],
                        missed=in_100(facts.lesions_called_normal)),
        accuracy_note=gettext(ACCURACY_NOTE, scans=facts.scans, right=in_100(facts.accuracy)),
        scope=model_scope(facts),
        trust=trust_figures(facts),
        next_steps=tuple(gettext(step) for step in NEXT_STEPS["flagged" if flagged_below_top else most_likely]),
        scan_caption=None if prediction.mask.any() else gettext(NO_OUTLINE),
    )


def uncertain_note(caveats: tuple[str, ...], uncertain_below: float) -> str:
    """One sentence saying why the answer is uncertain (its caveats)."""
    reasons = [gettext(CAVEAT_REASONS[reason], threshold=percent(uncertain_below)) for reason in caveats]
    return gettext(UNCERTAIN_NOTE, reasons="; ".join(reasons))
