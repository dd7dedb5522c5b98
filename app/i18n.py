"""English and French: which language a request is answered in, and the switch between them.

Pages: the language chosen with the switch (`?lang=fr`, remembered in the signed session cookie
the form already uses), else the browser's `Accept-Language`, else English. The JSON API is
stateless and reads `Accept-Language` only. Catalogues: translations/<lang>/LC_MESSAGES
(`pybabel` commands in docs/app.md); `tests/app/test_i18n.py` fails on any untranslated message.
"""
from __future__ import annotations

from babel import Locale
from flask import Flask, request, session, url_for
from flask_babel import Babel, get_locale

from inference.paths import REPO_ROOT

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_PARAMETER = "lang"
TRANSLATIONS_DIR = REPO_ROOT / "translations"


def _is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def select_language() -> str:
    """The request's language code (see the module docstring for the order)."""
    browser_choice = request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
    if _is_api_request():
        return browser_choice
    chosen = request.args.get(LANGUAGE_PARAMETER)
    if chosen in LANGUAGES:
        session[LANGUAGE_PARAMETER] = chosen
        return chosen
    remembered = session.get(LANGUAGE_PARAMETER)
    return remembered if remembered in LANGUAGES else browser_choice


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def territory_name(code: str) -> str:
    """A country's name (ISO 3166-1 alpha-2 code) in the request's language."""
    return Locale.parse(current_language()).territories[code]


def _language_context() -> dict:
    """What base.html needs for <html lang> and the switch: (code, name, link) of each other
    language; the link reloads a page that was fetched, or opens the upload page after a POST."""
    language = current_language()
    links = [(code, name, f"{request.path}?{LANGUAGE_PARAMETER}={code}" if request.method == "GET"
              else url_for("views.index", **{LANGUAGE_PARAMETER: code}))
             for code, name in LANGUAGES.items() if code != language]
    return {"language": language, "language_links": links}


def _content_language(response):
    response.headers["Content-Language"] = current_language()
    response.vary.add("Accept-Language")
    return response


def install(app: Flask) -> None:
    Babel(app, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS_DIR))
    app.context_processor(_language_context)
    app.after_request(_content_language)
