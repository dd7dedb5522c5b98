"""Errors meant for the user about an input scan, with no web stack behind them.

Apart from `app.errors` (which turns them into responses) so that the batch CLI, which
must not import Flask, vets files with the same checks and the same messages as the app.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from inference.marks import N_

if TYPE_CHECKING:
    from PIL import Image

    from inference.input_check import InputCheck, InputVerdict

NOT_ULTRASOUND_MESSAGE = N_("This does not look like a breast ultrasound image, so we have not "
                            "analysed it. Upload the scan image itself (grey-scale ultrasound), "
                            "not a photo, a screenshot or a document.")


class InputError(Exception):
    """What the user sent cannot be used; `message` is safe to show them.

    `message_id` is an English message with %(name)s fields for `params` (pybabel extracts
    the third argument of every InputError); `message` is it filled in, in English. The web
    app answers in the request's language (`translated`); the batch CLI prints `message`.
    """

    def __init__(self, status: int, code: str, message: str, **params):
        self.status, self.code, self.message_id, self.params = status, code, message, params
        self.message = message % params if params else message
        super().__init__(self.message)

    def translated(self, gettext) -> str:
        """The message in the language `gettext` translates to (text parameters are message ids too)."""
        params = {name: gettext(value) if isinstance(value, str) else value for name, value in self.params.items()}
        return gettext(self.message_id, **params)


def check_size(width: int, height: int, max_pixels: int, min_side: int) -> None:
    """413 over `max_pixels`, 400 under `min_side` on a side: the same for every image format."""
    if width * height > max_pixels:
        raise too_many_pixels(max_pixels)
    if min(width, height) < min_side:
        raise InputError(400, "image_too_small",
                         "The image is %(width)s×%(height)s pixels; it must be at least "
                         "%(side)s×%(side)s pixels.", width=width, height=height, side=min_side)


def too_many_pixels(max_pixels: int) -> InputError:
    return InputError(413, "image_too_large",
                      "The image has too many pixels: the limit is %(megapixels)s megapixels.",
                      megapixels=f"{max_pixels / 1e6:g}")


def unreadable_image() -> InputError:
    """A file of an accepted format whose data cannot be decoded, whatever the decoder raised."""
    return InputError(400, "unreadable_image",
                      "The image file is damaged or incomplete. Export the scan again and retry.")


def require_ultrasound(check: InputCheck, image: Image.Image) -> InputVerdict:
    """The learned input check's verdict (accepted or unfamiliar); a 422 `not_ultrasound` when it refuses."""
    verdict = check.check(image)
    if verdict.refused:
        raise InputError(422, "not_ultrasound", NOT_ULTRASOUND_MESSAGE)
    return verdict
