"""Every sentence the centre search shows a person, in one place.

Each is an English message id marked with N_ (translations/fr holds the French), with
`%(name)s` placeholders; `say()` gives it in the request's language, filled in.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext

from inference.marks import N_

COVERAGE = N_("Centre search covers Canada and the United States only.")

NOT_FOUND = N_("We could not find that place in Canada or the United States, the only countries this "
             "search covers. Try a city and province or state (such as “Hamilton, ON”), or a postal "
             "or ZIP code. Your family doctor or your provincial or state cancer agency can also "
             "tell you where to go for care.")
POSITION_OUTSIDE = N_("Your position is outside Canada and the United States, the only countries this "
                      "search covers. Your family doctor or the cancer agency in your country can tell you "
                      "where to go for care.")
ALSO_ABROAD = N_("%(place)s is also a city in another country (%(country)s), which this search does not "
                 "cover: these centres are near %(resolved)s.")
OUTSIDE_COVERAGE = N_("%(country)s is outside this search, which covers Canada and the United States "
                    "only. Your family doctor or the cancer agency in your country can tell you where "
                    "to go for care.")

FAR_FROM_CENTRES = N_("The nearest cancer centre on our list is %(distance)s km away. The list has the "
                    "main cancer centres only: your family doctor or your provincial or state cancer "
                    "agency can tell you where to go for care closer to you.")
OTHERS_FAR = N_("The other centres listed are more than %(threshold)s km away. Your family doctor can "
              "tell you where people near you are referred.")
TYPED_PLACE_USED = N_("You typed a place and also shared your position: we used the place you typed. "
                    "Clear the place to use your position instead.")

ENTER_A_PLACE = N_("Enter a city, a postal code or a ZIP code.")
ENTER_A_PLACE_OR_SHARE = N_("Enter a city, a postal code or a ZIP code, or share your location.")
TOO_LONG = N_("That location is too long (at most %(max)s characters).")
HALF_A_POSITION = N_("Both latitude and longitude are needed to use your position.")
BAD_LATITUDE = N_("Latitude must be a number between -90 and 90.")
BAD_LONGITUDE = N_("Longitude must be a number between -180 and 180.")
BAD_LIMIT = N_("The number of centres must be a whole number from %(min)s to %(max)s.")
BROWSER_POSITION = N_("Your location (from your browser)")
# How a place found from a code or a province/state alone is named.
ZIP_PLACE = N_("%(place)s (ZIP %(code)s)")
POSTAL_PLACE = N_("%(place)s (postal area %(code)s)")
RURAL_TOWN = N_("%(place)s (main town of the rural postal area %(code)s; approximate)")
RURAL_CENTRE = N_("Centre of the rural postal area %(code)s, %(region)s (approximate: enter your town for a "
                  "better match)")
MOST_POPULOUS = N_("%(place)s (most populous place in %(region)s)")

BOTH_COUNTRIES = N_("These centres are in Canada and in the United States: each address gives its country.")

# Whose number a centre's phone is, when it is not the centre's own (`phone_from` in the centre list).
PHONE_FROM = {
    "hospital": N_("the main number of the hospital the centre is in"),
    "agency": N_("the provincial cancer agency, which refers patients to this centre"),
    "health_line": N_("the provincial health line: no number was found for this centre"),
}


def say(message: str, **values: Any) -> str:
    """The message in the request's language (English outside a request), placeholders filled."""
    return gettext(message, **values)
