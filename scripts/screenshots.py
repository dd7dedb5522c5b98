"""Refresh the screenshots of README.md and docs/app.md: the result page and its PDF report, in English and French.

`python -m scripts.screenshots` serves the app on a free local port, uploads a fixture scan in
headless Chromium (Debian's, /usr/bin/chromium) and writes docs/screenshot-result-{en,fr}.png and
docs/screenshot-report-{en,fr}.png (the PDF's page rendered by pdftoppm, from poppler-utils).
"""
from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app import create_app
from inference.paths import REPO_ROOT

DOCS = REPO_ROOT / "docs"
SCAN = REPO_ROOT / "tests" / "fixtures" / "malignant_137.png"


def shrink(path: Path, colours: int = 96) -> None:
    """A palette PNG: a fraction of the size, still readable."""
    with Image.open(path) as image:
        image.convert("RGB").quantize(colours).save(path, optimize=True)


def main() -> None:
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for language, locale in (("en", "en-CA"), ("fr", "fr-CA")):
            page = browser.new_context(viewport={"width": 760, "height": 900}, locale=locale,
                                       accept_downloads=True).new_page()
            page.goto(url)
            page.set_input_files("#scan-file", str(SCAN))
            page.fill("#location", "Hamilton, ON")
            page.click("#submit")
            page.wait_for_selector("#headline")
            page.screenshot(path=DOCS / f"screenshot-result-{language}.png", full_page=True)
            shrink(DOCS / f"screenshot-result-{language}.png")
            with page.expect_download() as download:
                page.click("#download-report")
            pdf = Path(scratch) / f"report-{language}.pdf"
            download.value.save_as(pdf)
            subprocess.run(["pdftoppm", "-r", "70", "-png", "-singlefile", str(pdf),
                            str(DOCS / f"screenshot-report-{language}")], check=True)
            shrink(DOCS / f"screenshot-report-{language}.png")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
