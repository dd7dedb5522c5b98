"""Every sentence the centre search shows a person, in one place for the translation pass.

Each constant is a whole literal (no joining), so that string extraction finds it.
Placeholders use the `%(name)s` form that gettext (and Flask-Babel) expect, so each constant
can later be wrapped as it is: `gettext(FAR_FROM_CENTRES, distance=805)`. Call `say()` to fill one.
"""
from __future__ import annotations

from typing import Any

COVERAGE = "Centre search covers Canada and the United States only."

NOT_FOUND = ("We could not find that place in Canada or the United States, the only countries this "
             "search covers. Try a city and province or state (such as “Hamilton, ON”), or a postal "
             "or ZIP code. Your family doctor or your provincial or state cancer agency can also "
             "tell you where to go for care.")
OUTSIDE_COVERAGE = ("%(country)s is outside this search, which covers Canada and the United States "
                    "only. Your family doctor or the cancer agency in your country can tell you where "
                    "to go for care.")

FAR_FROM_CENTRES = ("The nearest cancer centre on our list is %(distance)s km away. The list has the "
                    "main cancer centres only: your family doctor or your provincial or state cancer "
                    "agency can tell you where to go for care closer to you.")
OTHERS_FAR = ("The other centres listed are more than %(threshold)s km away. Your family doctor can "
              "tell you where people near you are referred.")
TYPED_PLACE_USED = ("You typed a place and also shared your position: we used the place you typed. "
                    "Clear the place to use your position instead.")

ENTER_A_PLACE = "Enter a city, a postal code or a ZIP code."
ENTER_A_PLACE_OR_SHARE = "Enter a city, a postal code or a ZIP code, or share your location."
TOO_LONG = "That location is too long (at most %(max)s characters)."
HALF_A_POSITION = "Both latitude and longitude are needed to use your position."
BAD_LATITUDE = "Latitude must be a number between -90 and 90."
BAD_LONGITUDE = "Longitude must be a number between -180 and 180."
BAD_LIMIT = "The number of centres must be a whole number from %(min)s to %(max)s."
BROWSER_POSITION = "Your location (from your browser)"


def say(message: str, **values: Any) -> str:
    """Fill a message's placeholders (the one spot a translation call will go)."""
    return message % values if values else message
