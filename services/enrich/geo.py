"""Places: country names, aliases, demonyms and cities resolved to ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data") / "places.tsv"
# Country aliases, old city names, demonyms and irregular plurals (see the file's header).
_NAMES = Path(__file__).with_name("data") / "place_names.tsv"


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place: canonical name, kind and ISO country code."""

    name: str
    kind: str
    country: str


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Lookup tables for places, loaded once."""

    places: dict[str, Place]
    countries: dict[str, str]
    demonyms: dict[str, str]
    folded_places: dict[str, Place] = field(default_factory=dict)
    bare_places: dict[str, Place] = field(default_factory=dict)
    folded_demonyms: dict[str, str] = field(default_factory=dict)

    def place(self, surface: str) -> Place | None:
        """Resolve a place name or a country alias, however capitalised ("PORTUGAL", "ZURICH")."""
        bare = _strip_article(surface)
        found = self.places.get(surface) or self.places.get(bare)
        if found is None and _named(bare):
            found = self.folded_places.get(bare.casefold()) or self.bare_places.get(fold(bare))
        return found

    def demonym(self, surface: str) -> Place | None:
        """Resolve a nationality or demonym ("North Korean", "Russians", "FRENCH") to its country."""
        iso = self.demonyms.get(surface)
        if iso is None and _named(surface):
            iso = self.folded_demonyms.get(surface.casefold())
        return Place(self.countries[iso], "country", iso) if iso and iso in self.countries else None


def fold(name: str) -> str:
    """Case-folded and without accents: capitals often drop them ("SAO PAULO", "ZURICH").

    The Turkish dotless "ı" folds to "i" as well: its capital is the plain "I", so "KILIÇDAROĞLU" in
    capitals and "Kılıçdaroğlu" in prose are one name.
    """
    folded = unicodedata.normalize("NFKD", name.casefold().replace("ı", "i"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def _named(surface: str) -> bool:
    # Only a word written with a capital is looked up regardless of case: "us" is not the US.
    return any(c.isupper() for c in surface)


def _strip_article(surface: str) -> str:
    return surface[4:] if surface[:4].lower() == "the " else surface


def _plural(word: str) -> str:
    if word.endswith(("ese", "ss", "sh", "ch", "i")) or word in {"Swiss", "Thai", "Dutch", "French"}:
        return word
    return word + "s"


@cache
def gazetteer() -> Gazetteer:
    """Load the shipped gazetteer (GeoNames countries, US states and larger cities) once."""
    places: dict[str, Place] = {}
    countries: dict[str, str] = {}
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, kind, iso = line.split("\t")
        if kind == "country":
            name = _strip_article(name)
            countries[iso] = name
        places[name] = Place(name, kind, iso)
    names: dict[str, list[tuple[str, str]]] = {"alias": [], "city": [], "demonym": [], "plural": []}
    for line in _NAMES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, name, iso = line.split("\t")
            names[kind].append((name, iso))
    for alias, iso in names["alias"]:
        places[_strip_article(alias)] = Place(countries[iso], "country", iso)
    for alias, iso in names["city"]:
        places.setdefault(alias, Place(alias, "city", iso))
    demonyms = dict(names["plural"])
    for word, iso in names["demonym"]:
        demonyms[word] = iso
        demonyms.setdefault(_plural(word), iso)
    # Lookups for names in capitals: case-folded (the first spelling in file order wins), then also
    # without accents, where a name written without accents wins ("SAN JOSE" is San Jose, US; "SAN
    # JOSÉ" is San José, CR by the case-folded table).
    folded: dict[str, Place] = {}
    for name, place in places.items():
        folded.setdefault(name.casefold(), place)
    unaccented: dict[str, Place] = {}
    for plain in (True, False):
        for name, place in places.items():
            if (fold(name) == name.casefold()) == plain:
                unaccented.setdefault(fold(name), place)
    folded_dem: dict[str, str] = {}
    for word, iso in demonyms.items():
        folded_dem.setdefault(word.casefold(), iso)
    return Gazetteer(places, countries, demonyms, folded, unaccented, folded_dem)
