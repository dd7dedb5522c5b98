"""End to end in headless Chromium (Debian's, driven by Playwright) against a live server.

Set BUSI_SCREENSHOT=docs/screenshot-result.png to refresh the README's screenshot.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from conftest import SCANS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
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
def page(browser):
    """A fresh page that records Content-Security-Policy violations and script errors.
    Its browser is in Hamilton, ON, and lets the page ask where it is."""
    context = browser.new_context(viewport={"width": 1000, "height": 900}, geolocation=HAMILTON,
                                  permissions=["geolocation"])
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


def test_upload_shows_result_with_overlay_and_centres(page, live_url, tmp_path):
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS["malignant"]))
    # client-side preview of the chosen file; the browser decodes it asynchronously, so wait
    page.wait_for_function("() => { const img = document.getElementById('preview');"
                           " return !img.hidden && img.complete && img.naturalWidth > 0; }")
    assert page.locator("#preview").is_visible()
    page.fill("#location", "Hamilton, ON")
    page.click("#submit")
    page.wait_for_selector("#most-likely")

    assert page.locator("#most-likely").inner_text() in (
        "Benign (not cancer)", "Malignant (may be cancer)", "Normal (no lump found)")
    assert page.locator("#probabilities meter").count() == 3
    assert page.locator("#probabilities .probability-value").all_inner_texts()[0].endswith("%")
    assert page.locator("#overlay").evaluate("img => img.complete && img.naturalWidth > 0")
    assert "This is not a diagnosis" in page.locator("#disclaimer").inner_text()
    assert "Juravinski" in page.locator("#centres").inner_text()
    assert page.problems == []  # no CSP violation, no script error

    page.screenshot(path=os.environ.get("BUSI_SCREENSHOT") or str(tmp_path / "result.png"), full_page=True)


def test_flagged_result_headline(page, live_url, force_probabilities):
    """Benign on top and malignant at the threshold: the headline says both, above the scan."""
    force_probabilities({"benign": 0.77, "malignant": 0.20, "normal": 0.03})
    page.goto(live_url)
    page.set_input_files("#scan-file", str(SCANS["benign"]))
    page.click("#submit")
    page.wait_for_selector("#headline")
    assert page.locator("#headline").inner_text() == "Most likely benign (not cancer), but flagged for a doctor's review"
    assert "a 20% chance of cancer is enough to check" in page.locator("#flag-note").inner_text()
    assert page.locator("#most-likely").inner_text() == "Benign (not cancer)"
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
    page.wait_for_selector("#most-likely")
    assert "Juravinski" in page.locator("#centres").inner_text()
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
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "scan-file"
