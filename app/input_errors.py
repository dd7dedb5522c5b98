"""Errors meant for the user about an input scan, with no web stack behind them.

Apart from `app.errors` (which turns them into responses) so that the batch CLI, which
must not import Flask, vets files with the same checks and the same messages as the app.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

    from inference.input_check import InputCheck, InputVerdict

NOT_ULTRASOUND_MESSAGE = ("This does not look like a breast ultrasound image, so we have not "
                          "analysed it. Upload the scan image itself (grey-scale ultrasound), "
                          "not a photo, a screenshot or a document.")


class InputError(Exception):
    """What the user sent cannot be used; `message` is safe to show them."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def check_size(width: int, height: int, max_pixels: int, min_side: int) -> None:
    """413 over `max_pixels`, 400 under `min_side` on a side: the same for every image format."""
    if width * height > max_pixels:
        raise too_many_pixels(max_pixels)
    if min(width, height) < min_side:
        raise InputError(400, "image_too_small",
                         f"The image is {width}×{height} pixels; it must be at least "
                         f"{min_side}×{min_side} pixels.")


def too_many_pixels(max_pixels: int) -> InputError:
    return InputError(413, "image_too_large",
                      f"The image has too many pixels: the limit is {max_pixels / 1e6:g} megapixels.")


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
