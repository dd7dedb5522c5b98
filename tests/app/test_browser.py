"""End to end in headless Chromium (Debian's, driven by Playwright) against a live server.

(`python -m scripts.screenshots` takes the README's screenshots.)
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from tests.helpers import SCANS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium)"),
]


@pytest.fixture(scope="module")
def live_url(app):
    """The session's app served on a free port of 127.0.0.1, in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


HAMILTON = {"latitude": 43.2557, "longitude": -79.8711}


@pytest.fixture
def open_page(browser):
    """`open_page(locale=..., width=...)`: a fresh page that records Content-Security-Policy
    violations and script errors. Its browser is in Hamilton, ON, and lets the page ask where it is."""
    contexts = []

    def open_page(locale: str = "en-CA", width: int = 1000):
        context = browser.new_context(viewport={"width": width, "height": 900}, geolocation=HAMILTON,
                                      permissions=["geolocation"], locale=locale, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


def upload(page, live_url, kind: str = "benign", location: str = "") -> None:
    """Upload one of the fixture scans (and a location) from the form, wait for the result."""
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS[kind]))
    if location:
        page.fill("#location", location)
    page.click("#submit")
    page.wait_for_selector("#headline")


def test_upload_shows_result_with_overlay_and_centres(page, live_url, tmp_path):
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS["malignant"]))
    # client-side preview of the chosen file; the browser decodes it asynchronously, so wait
    page.wait_for_function("() => { const img = document.getElementById('preview');"
                           " return !img.hidden && img.complete && img.naturalWidth > 0; }")
    assert page.locator("#preview").is_visible()
    page.fill("#location", "Hamilton, ON")
    page.click("#submit")
    page.wait_for_selector("#headline")

    assert page.locator("#headline").inner_text().startswith(
        ("Most likely benign", "Most likely malignant", "Most likely normal"))
    assert page.locator("#probabilities meter").count() == 3
    assert page.locator("#probabilities .probability-value").all_inner_texts()[0].endswith("%")
    assert page.locator("#overlay").evaluate("img => img.complete && img.naturalWidth > 0")
    assert "This is not a diagnosis" in page.locator("#disclaimer").inner_text()
    assert "Juravinski" in page.locator("#centres").inner_text()
    assert page.problems == []  # no CSP violation, no script error

    page.screenshot(path=os.environ.get("BUSI_SCREENSHOT") or str(tmp_path / "result.png"), full_page=True)


def test_flagged_result_headline(app, page, live_url, force_probabilities):
    """Benign on top and malignant past the threshold: the headline says both, above the scan."""
    threshold = app.extensions["pipeline"].settings.malignant_threshold
    malignant = round(threshold + 0.02, 2)
    force_probabilities({"benign": 0.97 - malignant, "malignant": malignant, "normal": 0.03})
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS["benign"]))
    page.click("#submit")
    page.wait_for_selector("#headline")
    headline = "Most likely benign (not cancer), but flagged for a doctor's review"
    assert page.locator("#headline").inner_text() == headline
    assert f"a {round(100 * threshold)}% chance of cancer is enough to check" in page.locator("#flag-note").inner_text()
    flag_box, scan_box = page.locator("#flag-note").bounding_box(), page.locator("#overlay").bounding_box()
    assert flag_box["y"] + flag_box["height"] <= scan_box["y"]
    assert page.problems == []


def test_use_my_location_finds_centres_near_the_browser(page, live_url):
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS["benign"]))
    page.click("#use-location")
    page.wait_for_function("document.getElementById('latitude').value !== ''")
    assert page.input_value("#latitude") == "43.26" and page.input_value("#longitude") == "-79.87"
    assert "only to find centres near you" in page.locator("#location-status").inner_text()
    page.click("#submit")
    page.wait_for_selector("#headline")
    assert "Juravinski" in page.locator("#centres").inner_text()
    assert page.problems == []


def test_a_typed_place_wins_over_use_my_location(page, live_url):
    """Typing "90210" and then pressing "Use my location" (the browser is in Hamilton, ON)
    lists centres near Beverly Hills, and the page says so before and after submitting."""
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS["benign"]))
    page.fill("#location", "90210")
    page.click("#use-location")
    page.wait_for_function("document.getElementById('latitude').value !== ''")
    assert "the place you typed will be used" in page.locator("#location-status").inner_text()
    page.fill("#location", "")
    assert "only to find centres near you" in page.locator("#location-status").inner_text()
    page.fill("#location", "90210")
    page.click("#submit")
    page.wait_for_selector("#headline")
    centres = page.locator("#centres").inner_text()
    assert "Jonsson" in centres and "Juravinski" not in centres
    assert "we used the place you typed" in page.locator("#centre-notices").inner_text()
    assert page.problems == []


def test_progress_shows_while_the_scan_is_analysed(page, live_url):
    page.goto(live_url)
    assert not page.locator("#progress").is_visible()
    page.set_input_files("#scan-file", str(SCANS["normal"]))
    # Keep the page here after the app's own submit handler has run (it runs first).
    page.evaluate("document.getElementById('upload-form').addEventListener('submit', e => e.preventDefault())")
    page.click("#submit")
    assert page.locator("#progress").is_visible()
    assert page.locator("#submit").is_disabled()


def test_non_image_shows_the_error_on_the_form(page, live_url, tmp_path):
    not_an_image = tmp_path / "scan.png"
    not_an_image.write_text("this is a text file with an image's name\n")
    page.goto(live_url)
    page.set_input_files("#scan-file", str(not_an_image))
    page.click("#submit")
    page.wait_for_selector("#upload-error")
    assert "This file is not an image we can read" in page.locator("#upload-error").inner_text()
    assert page.locator("#scan-file").is_visible()  # the form is there to try again


def test_too_large_file_is_caught_before_upload(page, live_url, tmp_path, app):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    page.goto(live_url)
    page.set_input_files("#scan-file", str(big))
    page.click("#submit")
    assert "the limit is 10 MB" in page.locator("#client-error").inner_text()
    assert page.url.rstrip("/") == live_url  # nothing was sent


def test_upload_form_works_from_the_keyboard(page, live_url):
    page.goto(live_url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")  # the site's name
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "language-fr"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "scan-file"


# --- A report to keep (issue 16, item 1) -------------------------------------------------------

REPORT_WORDS = {"en-CA": ("This is not a diagnosis.", "Date and time:", "Model version:", "Benign (not cancer)"),
                "fr-CA": ("Ceci n’est pas un diagnostic.", "Date et heure", "Version du modèle",
                          "Bénigne (pas un cancer)")}


@pytest.mark.parametrize("locale", REPORT_WORDS)
def test_the_report_downloads_and_states_the_result(open_page, live_url, app, tmp_path, locale):
    from pypdf import PdfReader

    page = open_page(locale)
    upload(page, live_url, "benign", location="Hamilton, ON")
    with page.expect_download() as download_info:
        page.click("#download-report")
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.suffix == ".pdf"
    reader = PdfReader(path)
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    for words in REPORT_WORDS[locale]:
        assert words in text, words
    assert app.extensions["pipeline"].version in text
    assert re.search(r"20\d\d", text)  # the date
    headline = " ".join(page.locator("#headline").inner_text().split())
    assert headline in text
    shown = [value.replace("\u202f", " ") for value in page.locator(".probability-value").all_inner_texts()]
    assert len(shown) == 3 and all(value.replace("\u00a0", " ") in text.replace("\u00a0", " ") for value in shown)
    assert "Juravinski" in text
    assert page.problems == []


@pytest.mark.parametrize("locale", REPORT_WORDS)
def test_the_report_keeps_every_warning_the_page_shows(open_page, live_url, app, tmp_path, locale, monkeypatch,
                                                       force_probabilities):
    """Issue 27: an unfamiliar, flagged, uncertain answer: each note, the
    model's scope and its measured figures are in the downloaded PDF as on the page."""
    import dataclasses

    from PIL import Image
    from pypdf import PdfReader

    check = app.extensions["input_check"]
    score = check.check(Image.open(SCANS["benign"])).score
    monkeypatch.setattr(check, "settings",
                        dataclasses.replace(check.settings, unfamiliar_above=score / 2, refuse_above=score * 2))
    force_probabilities({"benign": 0.5, "malignant": 0.3, "normal": 0.2})
    page = open_page(locale)
    page.goto(live_url)
    scope = page.locator("#scope").inner_text()
    assert page.locator("#scope").is_visible() and ("GE LOGIQ E9" in scope and "GE Logiq 7" in scope)
    upload(page, live_url, "benign")
    assert page.locator("#scope").inner_text() == scope
    with page.expect_download() as download_info:
        page.click("#download-report")
    path = tmp_path / "report.pdf"
    download_info.value.save_as(path)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(path).pages).replace("\u00a0", " ").split())

    def flat(selector: str) -> list[str]:
        return [" ".join(t.replace("\u00a0", " ").replace("\u202f", " ").split())
                for t in page.locator(selector).all_inner_texts()]

    notes = flat(".note")
    assert [n.get_attribute("id") for n in page.locator(".note").all()] == ["flag-note", "uncertain-note",
                                                                           "unfamiliar-note"]
    figures = flat("#trust p, #trust li")
    assert len(figures) == 3
    for shown in (*notes, *figures, *flat("#scope")):
        assert shown in text, shown
    assert page.problems == []


@pytest.mark.parametrize("locale", REPORT_WORDS)
def test_a_near_certain_answer_is_shown_as_over_99_never_100(open_page, live_url, tmp_path, locale,
                                                              force_probabilities):
    """Issue 27, item 2: '>99%' and '<1%' on the page and in the downloaded PDF, no 100% or 0%."""
    from pypdf import PdfReader

    force_probabilities({"benign": 0.9991, "malignant": 0.0006, "normal": 0.0003})
    page = open_page(locale)
    upload(page, live_url, "benign")
    shown = [" ".join(v.replace("\u202f", " ").replace("\u00a0", " ").split())
             for v in page.locator(".probability-value").all_inner_texts()]
    assert shown == ([">99%", "<1%", "<1%"] if locale == "en-CA" else [">99 %", "<1 %", "<1 %"])
    with page.expect_download() as download_info:
        page.click("#download-report")
    path = tmp_path / "report.pdf"
    download_info.value.save_as(path)
    text = " ".join(PdfReader(path).pages[0].extract_text().replace("\u00a0", " ").split())
    assert all(value in text for value in shown)
    for words in (page.locator("main").inner_text(), text):
        assert not re.search(r"(?<![\d,.])(100|0) ?%", words)


def test_leaving_and_coming_back_never_asks_to_resend(page, live_url):
    upload(page, live_url, "benign", location="Hamilton, ON")
    external = page.locator("#centres a[href^='http']")
    assert external.count() >= 2
    for index in range(external.count()):
        link = external.nth(index)
        assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    page.click("text=Check another scan")
    page.wait_for_selector("#upload-form")
    page.go_back()
    page.wait_for_load_state()
    # Either the browser kept the page, or GET /analyse says results are not kept; never an error.
    assert page.locator("#headline").count() or page.locator("#result-not-kept").is_visible()
    page.reload()
    assert page.locator("#result-not-kept").is_visible()  # a reload does not resend the scan
    assert page.problems == []


# --- Overlay (item 3) -------------------------------------------------------------------------

def test_the_outline_can_be_hidden_and_shown(page, live_url, force_probabilities):
    force_probabilities({"benign": 0.8, "malignant": 0.1, "normal": 0.1})  # the real mask is kept
    upload(page, live_url, "benign")
    assert page.locator("#outline").is_visible() and "magenta" in page.locator("#scan-caption").inner_text()
    page.click("label[for=show-outline]")
    assert not page.locator("#outline").is_visible() and page.locator("#overlay").is_visible()
    page.keyboard.press("Space")  # the checkbox has focus
    assert page.locator("#outline").is_visible()


# --- English and French (item 5) --------------------------------------------------------------

def test_the_language_follows_the_browser_and_the_switch(open_page, live_url):
    page = open_page("fr-CA")
    page.goto(live_url)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Analyser une image d’échographie mammaire"
    page.click("#language-en")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(live_url)
    assert page.locator("h1").inner_text() == "Check a breast ultrasound scan"  # remembered


@pytest.mark.parametrize("locale", ["en-CA", "fr-CA"])
def test_on_a_phone_the_first_screen_shows_the_percentages_each_beside_its_name(open_page, live_url, locale):
    """Issue 27, item 9, at 390 x 844: the upload page's button on the first screen; on the result,
    the headline and the three percentages before any scrolling, and each percentage on its name's
    line, not wrapped under it, away from its bar."""
    page = open_page(locale, width=390)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_url)
    button = page.locator("#submit").bounding_box()
    assert button["y"] + button["height"] <= 844  # "Analyse scan" on the first screen (it stays in view)
    page.focus("#location")  # and a field focused by keyboard is never hidden under it
    field, bar = page.locator("#location").bounding_box(), page.locator(".submit-bar").bounding_box()
    assert field["y"] + field["height"] <= bar["y"]
    upload(page, live_url, "benign")
    rows = page.locator("#probabilities .probability").all()
    assert len(rows) == 3
    for row in rows:
        name, value = row.locator(".probability-name").bounding_box(), row.locator(".probability-value").bounding_box()
        assert value["x"] > name["x"] + name["width"] - 1  # to its right
        assert value["y"] < name["y"] + name["height"] and name["y"] < value["y"] + value["height"]  # same line
        assert value["y"] + value["height"] <= 844  # first screen
    assert page.locator("#headline").bounding_box()["y"] < page.locator("#probabilities").bounding_box()["y"]


def test_the_switch_on_a_result_says_visibly_that_it_opens_a_new_check(page, live_url):
    """Issue 27, item 7: the result cannot be translated (nothing of the scan is kept), so the
    switch opens the upload form in a new tab, and says so to everyone, not only to screen readers."""
    upload(page, live_url, "benign")
    switch = page.locator("#language-fr")
    hint = page.locator("#language-fr .language-hint")
    assert hint.is_visible() and hint.inner_text() == "(a new check, in a new tab)"
    assert switch.get_attribute("target") == "_blank"
    with page.context.expect_page() as new_tab:
        switch.click()
    new_tab.value.wait_for_load_state()
    assert new_tab.value.locator("html").get_attribute("lang") == "fr"
    assert new_tab.value.locator("#upload-form").is_visible()
    assert page.locator("#headline").is_visible()  # the result stays in its own tab


# --- Accessibility by test (item 2) -----------------------------------------------------------

def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{violation['id']}: {violation['help']} ({len(violation['nodes'])})"
            for violation in results.response["violations"] if violation["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("locale", ["en-CA", "fr-CA"])
def test_axe_finds_nothing_serious(open_page, live_url, tmp_path, locale):
    page = open_page(locale)
    page.goto(live_url)
    assert serious_violations(page) == [], "upload page"
    not_an_image = tmp_path / "scan.png"
    not_an_image.write_text("not an image")
    page.set_input_files("#scan-file", str(not_an_image))
    page.click("#submit")
    page.wait_for_selector("#upload-error")
    assert serious_violations(page) == [], "upload error"
    page.goto(live_url + "/no-such-page")
    assert serious_violations(page) == [], "error page"
    upload(page, live_url, "malignant", location="Hamilton, ON")
    assert serious_violations(page) == [], "result page"


@pytest.mark.parametrize("locale", ["en-CA", "fr-CA"])
def test_no_sideways_scrolling_at_320_px(open_page, live_url, locale):
    page = open_page(locale, width=320)
    for url in (live_url, live_url + "/no-such-page"):
        page.goto(url)
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), url
    upload(page, live_url, "benign", location="Iqaluit, NU")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_usable_at_200_percent_text(page, live_url):
    upload(page, live_url, "benign", location="Iqaluit, NU")
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    overflowing = page.evaluate("""() => [...document.querySelectorAll('.probability')].filter(row => {
        const box = row.getBoundingClientRect();
        return [...row.children].some(child => { const c = child.getBoundingClientRect();
            return c.right > box.right + 0.5 || c.left < box.left - 0.5; });
    }).length""")
    assert overflowing == 0


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""
    def luminance(css: str) -> float:
        channels = [int(value) / 255 for value in re.findall(r"[\d.]+", css)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FOCUS_RING = """() => {
    const element = document.activeElement, style = getComputedStyle(element);
    let node = element.parentElement, background = 'rgba(0, 0, 0, 0)';
    while (node && /rgba\\(.*, 0\\)$/.test(background)) {
        background = getComputedStyle(node).backgroundColor;
        node = node.parentElement;
    }
    return {tag: element.tagName, id: element.id || element.className, style: style.outlineStyle,
            width: parseFloat(style.outlineWidth), colour: style.outlineColor, background};
}"""


def test_focus_is_visible_at_3_to_1(page, live_url):
    page.goto(live_url)
    seen = set()
    for _ in range(10):  # skip link, brand, language, file input, location, use my location, submit
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring["tag"] == "BODY":  # past the last control
            break
        seen.add(ring["id"])
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        assert contrast(ring["colour"], ring["background"]) >= 3, ring
    assert {"skip-link", "brand", "language-fr", "scan-file", "location", "use-location", "submit"} <= seen


def test_meters_announce_percentages(page, live_url, force_probabilities):
    force_probabilities({"benign": 0.767, "malignant": 0.2, "normal": 0.033})
    upload(page, live_url, "benign")
    tree = page.locator("#probabilities").aria_snapshot()
    assert "77%" in tree and "0.767" not in tree and "76.7" not in tree
