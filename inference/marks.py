"""`N_`: marks a text for translation without translating it.

Flask-free, so the modules the batch CLI imports (upload decoding, input errors) can mark
their messages; the web app translates them where it shows them (`app.i18n`, `app.errors`).
"""
from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a module-level text for extraction (`pybabel -k N_`); returns it unchanged."""
    return message
