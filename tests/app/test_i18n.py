"""English and French: every message translated, pages and API answered in the request's language."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from inference.paths import REPO_ROOT as REPO
from tests.helpers import SCANS, csrf_token

CATALOGUE = REPO / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
# What `pybabel extract -F babel.cfg -k N_ -k InputError:3` finds, in the files babel.cfg names.
KEYWORDS = {"_": None, "gettext": None, "N_": None, "InputError": (3,)}
with open(REPO / "babel.cfg") as config:
    METHODS, METHOD_OPTIONS = parse_mapping_cfg(config)
# Words that only English pages contain (none is French).
ENGLISH_WORDS = re.compile(r"\b(the|your|you|and|with|this|scan|model|is|of|to|not)\b", re.I)


def source_messages() -> set[str]:
    found = extract_from_dir(str(REPO), METHODS, METHOD_OPTIONS, keywords=KEYWORDS)
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


# --- the centre search (issue 27, item 4) -------------------------------------------------------

def without_names(page: str) -> str:
    """The page less the centres' and places' own names, which stay as the sources spell them."""
    for pattern in (r'<strong class="centre-name">.*?</strong>', r"<address>.*?</address>",
                    r'<strong id="resolved-location">.*?</strong>', r"de\s*[^<]*\(s’ouvre dans un nouvel onglet\)"):
        page = re.sub(pattern, " ", page, flags=re.S)
    return page


@pytest.mark.parametrize("place, french_words", [
    ("L8V 1C3", "secteur postal L8V"), ("90210", "code ZIP 90210"), ("Louisiana", "localité la plus peuplée"),
    ("X0A 0H0", "région postale rurale"), ("Whitehorse", "hôpital territorial"),
    ("Lévis", "(oncologie / radio-oncologie)"),
    ("Inuvik", "est à 854 km"), ("Saskatoon", "ligne santé provinciale"), ("Red Deer", "organisme provincial"),
    ("Hamilton, ON", "numéro principal de l’hôpital")])
def test_french_result_pages_with_centres_have_no_english_left(client, place, french_words):
    token = csrf_token(client)
    response = client.post("/analyse", headers={"Accept-Language": "fr-CA"}, content_type="multipart/form-data",
                           data={"csrf_token": token, "location": place,
                                 "image": (io.BytesIO(SCANS["benign"].read_bytes()), "s.png")})
    page = response.get_data(as_text=True)
    assert 'id="centres"' in page and french_words in html.unescape(page)
    assert french_english_words(without_names(page)) == [], place
    text = html.unescape(page)
    assert "Données de lieux © GeoNames" in text or "Données des centres de cancérologie" in text
    report = re.search(r'download="([^"]+)"', page).group(1)
    assert report.startswith("rapport-echographie-mammaire-") and report.endswith(".pdf")


# What to send /api/v1/centres for each sentence of app/location/messages.py to be said.
LOCATION_MESSAGES = {
    "COVERAGE": {"location": "Hamilton, ON"},
    "NOT_FOUND": {"location": "Xyzzyplace Nowhere"},
    "POSITION_OUTSIDE": {"latitude": "48.85", "longitude": "2.35"},
    "ALSO_ABROAD": {"location": "Paris"},
    "OUTSIDE_COVERAGE": {"location": "Berlin, Allemagne"},
    "FAR_FROM_CENTRES": {"location": "Inuvik"},
    "OTHERS_FAR": {"location": "Iqaluit"},
    "TYPED_PLACE_USED": {"location": "90210", "latitude": "43.26", "longitude": "-79.87"},
    "ENTER_A_PLACE_OR_SHARE": {"location": " ", "limit": "3"},
    "TOO_LONG": {"location": "x" * 201},
    "HALF_A_POSITION": {"latitude": "43.26"},
    "BAD_LATITUDE": {"latitude": "91", "longitude": "0"},
    "BAD_LONGITUDE": {"latitude": "0", "longitude": "181"},
    "BAD_LIMIT": {"location": "Hamilton, ON", "limit": "abc"},
    "BROWSER_POSITION": {"latitude": "43.26", "longitude": "-79.87"},
    "BOTH_COUNTRIES": {"location": "Whitehorse"},
    "ZIP_PLACE": {"location": "90210"},
    "POSTAL_PLACE": {"location": "L8V"},
    "RURAL_TOWN": {"location": "X0A 0H0"},
    "RURAL_CENTRE": {"location": "A0A"},
    "MOST_POPULOUS": {"location": "Louisiana"},
    "PHONE_FROM": {"location": "Saskatoon", "limit": "10"},
}


def test_every_location_message_is_reached_by_the_table():
    from app.location import messages

    said = {name for name, value in vars(messages).items() if name.isupper() and isinstance(value, (str, dict))}
    assert said - {"ENTER_A_PLACE"} == set(LOCATION_MESSAGES)  # ENTER_A_PLACE: the geocoder's own empty-text guard


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", LOCATION_MESSAGES)
def test_every_location_message_is_said_in_the_request_s_language(app, client, name, language):
    from app.location import messages

    body = client.get("/api/v1/centres", query_string=LOCATION_MESSAGES[name],
                      headers={"Accept-Language": language}).get_json()
    answer = json.dumps(body, ensure_ascii=False)
    message = getattr(messages, name)
    templates = message.values() if isinstance(message, dict) else [message]
    with app.test_request_context(headers={"Accept-Language": language}):
        from flask_babel import gettext

        expected = [re.split(r"%\(\w+\)s", gettext(template)) for template in templates]
    assert any(all(fixed.strip() in answer for fixed in parts) for parts in expected), (name, language, answer)
    if language == "fr":
        texts = [body.get("error", {}).get("message", ""), *body.get("notices", []),
                 body.get("location", {}).get("resolved", ""), body["coverage"]["message"] if "coverage" in body
                 else body["error"]["coverage"]["message"]]
        assert ENGLISH_WORDS.findall(" ".join(texts)) == [], texts
