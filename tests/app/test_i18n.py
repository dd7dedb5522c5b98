"""English and French: every message translated, pages and API answered in the request's language."""
from __future__ import annotations

import html
import io
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from inference.paths import REPO_ROOT as REPO
from tests.helpers import SCANS, csrf_token

CATALOGUE = REPO / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
# What `pybabel extract -F babel.cfg -k N_ -k InputError:3` finds (see babel.cfg).
KEYWORDS = {"_": None, "gettext": None, "N_": None, "InputError": (3,)}
METHODS = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
# Words that only English pages contain (none is French).
ENGLISH_WORDS = re.compile(r"\b(the|your|you|and|with|this|scan|model|is|of|to|not)\b", re.I)


def source_messages() -> set[str]:
    found = extract_from_dir(str(REPO), METHODS, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, _, message, *_ in found}


def test_every_message_in_the_code_has_a_french_translation():
    catalogue = read_po(CATALOGUE.open("rb"))
    messages = source_messages()
    assert len(messages) > 80
    untranslated = [m for m in messages if not (catalogue.get(m) and catalogue.get(m).string)
                    or catalogue.get(m).fuzzy]
    assert untranslated == [], "run pybabel extract/update and translate these"
    assert {m.id for m in catalogue if m.id} == messages, "the catalogue holds messages the code no longer has"
    problems = [(message.id, errors) for message, errors in catalogue.check()]
    assert problems == []  # placeholders match


def test_the_compiled_catalogue_is_the_current_one():
    source = {m.id: m.string for m in read_po(CATALOGUE.open("rb")) if m.id}
    compiled = {m.id: m.string for m in read_mo(CATALOGUE.with_suffix(".mo").open("rb")) if m.id}
    assert compiled == source, "run pybabel compile -d translations"


def visible_text(page: str) -> str:
    """The page's text as a reader sees it: no tags, scripts or attribute values."""
    body = page[page.index("<body"):]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def french_english_words(page: str) -> list[str]:
    text = visible_text(page).replace("English", "").replace("OpenStreetMap", "")
    return ENGLISH_WORDS.findall(text)


def test_the_switch_chooses_french_and_remembers_it(client):
    page = client.get("/?lang=fr").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Analyser une image d’échographie mammaire" in page
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)  # remembered
    assert '<html lang="en">' in client.get("/?lang=en").get_data(as_text=True)


@pytest.mark.parametrize("accept, language", [("fr-CA,fr;q=0.9,en;q=0.5", "fr"), ("en-CA", "en"),
                                              ("de-DE", "en"), ("", "en")])
def test_the_browser_language_is_the_default(client, accept, language):
    response = client.get("/", headers={"Accept-Language": accept})
    assert f'<html lang="{language}">' in response.get_data(as_text=True)
    assert response.headers["Content-Language"] == language


def test_french_pages_have_no_english_left(client, force_probabilities):
    french = {"Accept-Language": "fr-CA"}
    force_probabilities({"benign": 0.5, "malignant": 0.3, "normal": 0.2})  # flagged and uncertain
    token = csrf_token(client)  # the same browser: its language comes with it
    pages = {"upload": client.get("/", headers=french),
             "not found": client.get("/no-such-page", headers=french),
             "not kept": client.get("/analyse", headers=french)}
    for kind in ("benign", "normal"):
        pages[kind] = client.post("/analyse", headers=french, content_type="multipart/form-data",
                                  data={"csrf_token": token, "image": (io.BytesIO(SCANS[kind].read_bytes()), "s.png")})
    pages["bad upload"] = client.post("/analyse", headers=french, content_type="multipart/form-data",
                                      data={"csrf_token": token, "image": (io.BytesIO(b"text"), "s.png")})
    for name, response in pages.items():
        page = response.get_data(as_text=True)
        assert '<html lang="fr">' in page, name
        assert french_english_words(page) == [], name
    assert "Le plus probable\u00a0: bénigne (pas un cancer), mais signalée pour examen" in html.unescape(
        pages["benign"].get_data(as_text=True))


def test_the_english_check_would_catch_an_english_page(client):
    assert french_english_words(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True))


def test_api_answers_in_the_accept_language(post_api, client):
    french = post_api(SCANS["benign"].read_bytes(), headers={"Accept-Language": "fr-CA"}).get_json()
    english = post_api(SCANS["benign"].read_bytes()).get_json()
    assert french["label"] == english["label"] and french["probabilities"] == english["probabilities"]
    assert french["disclaimer"].startswith("Ceci n’est pas un diagnostic.")
    assert french["headline"].startswith("Le plus probable") and english["headline"].startswith("Most likely")
    assert not any(ENGLISH_WORDS.search(step) for step in french["next_steps"])
    error = post_api(b"", headers={"Accept-Language": "fr"}).get_json()["error"]
    assert error["code"] == "empty_file" and error["message"].startswith("Le fichier est vide")
