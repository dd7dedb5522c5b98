"""A one-page PDF of a result, made in memory with the response and stored nowhere.

The point of it (issue 16): a patient can bring the early assessment to a doctor. fpdf2 writes
it: pure Python (no system libraries or browser to install on the server), well maintained,
and fast enough to build with every result (a few milliseconds for one page and one image).
Helvetica, a PDF core font, needs no font file; in the Windows-1252 encoding it covers English
and French, curly quotes and dashes included, once the few characters outside it are replaced.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_decimal
from flask_babel import gettext
from fpdf import FPDF
from PIL import Image

from app.explain import Explanation
from app.i18n import current_language

# Characters Windows-1252 lacks -> the nearest it has.
STAND_INS = str.maketrans({"\u202f": "\u00a0", "\u2009": " ", "\u2264": "<=", "\u2265": ">="})
MARGIN_MM = 12
SCAN_WIDTH_MM = 70
SCAN_MAX_HEIGHT_MM = 62


@dataclass(frozen=True)
class ReportContent:
    """Everything the report states, already in the request's language."""
    created: datetime  # timezone-aware
    model_version: str
    explanation: Explanation
    probabilities: list[tuple[str, str]]  # (class title, percent text)
    most_likely_title: str
    disclaimer: str
    scan_png: bytes  # the scan with the outline drawn on it
    nearby: dict | None  # locate_and_find()'s answer (None without a location)


def _encodable(text: str) -> str:
    return text.translate(STAND_INS)


class _Report(FPDF):
    """A4 portrait with the few text styles the report uses."""

    def __init__(self):
        super().__init__(format="A4")
        self.core_fonts_encoding = "windows-1252"
        self.set_margins(MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM)
        self.add_page()

    def heading(self, text: str, size: float = 12) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.5, _encodable(text), align="L", new_x="LMARGIN")
        self.ln(1)

    def paragraph(self, text: str, size: float = 9, style: str = "", width: float = 0) -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(width, size * 0.48, _encodable(text), align="L", new_x="LMARGIN")
        self.ln(1)


def build_report(content: ReportContent) -> bytes:
    """The PDF's bytes."""
    pdf = _Report()
    pdf.set_title(_encodable(gettext("Breast ultrasound check: report")))
    pdf.heading(gettext("Breast ultrasound check: report"), size=15)
    when = _when(content.created, current_language())
    pdf.paragraph(gettext("Date and time: %(when)s. Model version: %(version)s.", when=when,
                          version=content.model_version), size=9)
    pdf.set_fill_color(255, 244, 224)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(0, 5, _encodable(content.disclaimer), fill=True, align="L", new_x="LMARGIN",
                   padding=(2, 3, 2, 3))
    pdf.ln(3)
    _decision(pdf, content)
    _next_steps(pdf, content.explanation)
    if content.nearby:
        _centres(pdf, content.nearby)
    pdf.paragraph(gettext("Made by the breast ultrasound check web app. Nothing of your scan was kept on "
                          "the server: this file is the only copy."), size=8)
    return bytes(pdf.output())


def _when(created: datetime, language: str) -> str:
    """Date, time and time zone, each in the language's own words ("3 décembre 2026, 12:16 (heure
    normale de l’Est nord-américain)"): CLDR's French long format would give "-0500"."""
    zone = get_timezone_name(created, width="long", locale=language)
    return (f"{format_date(created, 'long', locale=language)}, "
            f"{format_time(created, 'short', tzinfo=created.tzinfo, locale=language)} ({zone})")


def _decision(pdf: _Report, content: ReportContent) -> None:
    """Headline and notes, then the scan beside the probabilities."""
    explanation = content.explanation
    pdf.heading(explanation.headline, size=13)
    for note in explanation.notes:  # every note the page shows
        pdf.paragraph(str(note), style="B")
    top = pdf.get_y()
    with Image.open(io.BytesIO(content.scan_png)) as scan:
        width, height = scan.size
    image = pdf.image(io.BytesIO(content.scan_png), x=MARGIN_MM, y=top,
                      w=min(SCAN_WIDTH_MM, SCAN_MAX_HEIGHT_MM * width / height))
    column_x = MARGIN_MM + SCAN_WIDTH_MM + 6
    pdf.set_xy(column_x, top)
    pdf.set_left_margin(column_x)
    pdf.heading(gettext("How sure the model is"), size=10.5)
    for title, shown in content.probabilities:
        style = "B" if title == content.most_likely_title else ""
        pdf.paragraph(gettext("%(name)s: %(value)s", name=title, value=shown), style=style)
    for text in (*explanation.trust, explanation.accuracy_note):
        pdf.paragraph(text, size=8.5)
    pdf.set_left_margin(MARGIN_MM)
    pdf.set_xy(MARGIN_MM, max(pdf.get_y(), top + image.rendered_height) + 2)
    if explanation.scan_caption:
        pdf.paragraph(explanation.scan_caption, size=8.5)
    pdf.paragraph(explanation.scope, size=8.5)
    pdf.ln(2)
    pdf.heading(gettext("What this means"), size=11)
    pdf.paragraph(explanation.summary)


def _next_steps(pdf: _Report, explanation: Explanation) -> None:
    pdf.heading(gettext("What to do next"), size=11)
    for number, step in enumerate(explanation.next_steps, 1):
        pdf.paragraph(f"{number}. {step}")


def _centres(pdf: _Report, nearby: dict) -> None:
    """The centres as the page lists them: near which place, each with its number, the credits."""
    pdf.heading(gettext("Cancer centres near you"), size=11)
    pdf.paragraph(f"{gettext('Nearest to:')} {nearby['location']['resolved']}", size=9, style="B")
    for centre in nearby["centres"]:
        line = gettext("%(name)s, %(km)s km away: %(address)s, %(city)s, %(region)s %(postal_code)s",
                       name=centre["name"], km=format_decimal(centre["distance_km"], locale=current_language()),
                       address=centre["address"],
                       city=centre["city"], region=centre["region"], postal_code=centre["postal_code"])
        if centre["country_name"]:
            line += f", {centre['country_name']}"
        if centre["phone"]:
            line += f". {centre['phone']}" + (f" ({centre['phone_note']})" if centre["phone_note"] else "")
        pdf.paragraph(line, size=9)
    pdf.paragraph(". ".join(nearby["attribution"]) + ".", size=7.5)
