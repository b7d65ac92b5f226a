"""Per-mention resolution: places to countries, nationalities to a country code, institutions to ORG."""

from __future__ import annotations

import re

from services.contracts import EntityType
from services.enrich.geo import Gazetteer

# Seats of government named after their building are organisations in news, not places.
_INSTITUTION_PLACES = {
    "White House",
    "Kremlin",
    "Pentagon",
    "Downing Street",
    "Elysee",
    "Élysée",
    "Elysee Palace",
    "Élysée Palace",
    "Capitol Hill",
    "Whitehall",
    "Quai d'Orsay",
    "Blue House",
    "Zhongnanhai",
}
_ORG_WORDS = re.compile(
    r"\b(Ministry|Ministries|Council|Department|Agency|Commission|Committee|Parliament|Congress|Senate|"
    r"Assembly|Bank|University|Party|Court|Office|Bureau|Authority|Service|Corporation|Company|Inc|"
    r"Ltd|Association|Federation|Organization|Organisation|Institute|Foundation|Board|Duma|"
    r"Cabinet|Government|Police|Army|Navy|Air Force)\b"
)


class Resolver:
    """Map a surface form and its voted type to (canonical name, type, country code)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._gaz = gazetteer

    def __call__(self, surface: str, etype: EntityType) -> tuple[str, EntityType, str | None] | None:
        """Resolve one surface form; None keeps it as the model read it."""
        bare = surface[4:] if surface[:4].lower() == "the " else surface
        if bare in _INSTITUTION_PLACES:
            return bare, "ORG", None
        if etype == "PERSON":
            return None
        if etype in ("LOCATION", "MISC") and _ORG_WORDS.search(bare):
            return bare, "ORG", None
        if etype == "MISC" and (dem := self._gaz.demonym(bare)) is not None:
            # A nationality stays what it is in the sentence (MISC) but carries its country's code.
            singular = bare[:-1] if bare.endswith("s") and self._gaz.demonym(bare[:-1]) else bare
            return singular, "MISC", dem.country
        place = self._gaz.place(bare)
        if place is None:
            return None
        if place.kind == "country":
            return place.name, "LOCATION", place.country
        if etype == "LOCATION":
            # A name found only regardless of case or accents ("ZURICH") takes the gazetteer's spelling.
            return (bare if bare in self._gaz.places else place.name), etype, place.country
        return None
