"""What one shouted word is, and how the prose spells it: from the text's evidence, the lexicon and the
gazetteer."""

from __future__ import annotations

from functools import cache

from spacy.lang.en.stop_words import STOP_WORDS

from services.enrich.casing.evidence import Evidence
from services.enrich.casing.lemmas import Lexicon
from services.enrich.casing.tokens import MAX_PHRASE, possessive
from services.enrich.geo import fold, gazetteer
from services.enrich.names import (
    NAME_PARTICLES,
    PARTICLES,
    PERSON_TITLES,
    REPORTING_VERBS,
    is_acronym,
    is_shouted,
    lower,
    title_word,
    upper_initial,
    word_set,
)

# Word kinds that can be part of a name read from the shape of a sentence.
NAME, COMMON, PARTICLE = "name", "common", "particle"
IN_NAME = frozenset({NAME, COMMON, PARTICLE})
_CALENDAR = word_set(
    "monday tuesday wednesday thursday friday saturday sunday january february april june july august "
    "september october november december"
)
# Nouns that often open a sentence capitalised without being a name ("Police said ...").
_ROLES = word_set(
    """
    president minister prime chancellor premier mayor governor senator congressman congresswoman king
    queen prince princess pope cardinal bishop general colonel captain admiral commander lieutenant
    sergeant secretary spokesman spokeswoman spokesperson chairman chairwoman chief executive judge
    justice leader ambassador envoy director coach manager striker midfielder defender goalkeeper
    officer official police lawyer attorney lawmaker deputy vice foreign defence defense
    finance interior sheriff commissioner professor doctor reporters sources analysts witnesses
    residents troops soldiers rebels people state city capital government agency office
    """
)


@cache
def place_phrases() -> dict[tuple[str, ...], tuple[str, ...]]:
    # Gazetteer names and nationality words by their case-folded words: ("new", "zealand") -> New Zealand.
    gaz = gazetteer()
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    for name in [*gaz.places, *gaz.demonyms]:
        words = name.split()
        if len(words) <= MAX_PHRASE:
            out.setdefault(tuple(fold(w) for w in words), tuple(words))
    return out


def cased_like(form: str, word: str) -> str:
    # The word's own letters in the case pattern of another spelling ("SAO" like "São": "Sao").
    if form.casefold() == word.casefold():
        return form
    if form.islower():
        return lower(word)
    if form.isupper():
        return word
    if len(form) != len(word):
        return title_word(word)
    return "".join(upper_initial(c) if f.isupper() else lower(c) for c, f in zip(word, form, strict=True))


def countryish(words: tuple[str, ...]) -> bool:
    gaz = gazetteer()
    name = " ".join(words)
    place = gaz.places.get(name)
    return gaz.demonym(name) is not None or (place is not None and place.kind == "country")


class Speller:
    """Chooses the prose spelling of one shouted word of a text, and tells what kind of word it is."""

    def __init__(self, ev: Evidence, lex: Lexicon) -> None:
        self._ev = ev
        self._lex = lex

    def _kind(self, word: str) -> str:
        """What a shouted word can be in a name read from the shape of a sentence."""
        base = word[:-2] if possessive(word) else word
        low, key = lower(base), fold(base)
        if not is_shouted(base):
            return "fixed"
        if low in REPORTING_VERBS:
            return "verb"
        if low in STOP_WORDS:
            return "stop"
        if low in NAME_PARTICLES:
            return PARTICLE
        if low in _CALENDAR or low in PERSON_TITLES or low in _ROLES or low.removesuffix("s") in _ROLES:
            return "role"
        if is_acronym(base):
            return "acronym"
        ev = self._ev
        cased = sum(ev.cased[key].values()) if key in ev.cased else 0
        if ev.lower[key] > cased:
            return COMMON
        place = place_phrases().get((key,))
        if place is not None and (countryish(place) or not self._lex.pos(base) - {"noun"}):
            return "place"
        pos = self._lex.pos(base)
        if low.endswith(("man", "woman")) and pos and not cased:  # "ENGLISHMAN CHARLTON", "CHAIRMAN"
            return "role"
        if cased or (self._lex and not pos):
            return NAME
        return COMMON

    def _plain_noun(self, word: str) -> bool:
        # A noun of the dictionary as it stands, and nothing else: "MACRON", not "WORKERS" nor "STAFF".
        return self._lex.pos(word) == {"noun"} and lower(word) in self._lex.index.get("noun", frozenset())

    def _verb_only(self, word: str) -> bool:
        pos = self._lex.pos(word)
        return "verb" in pos and "noun" not in pos

    def _place_like(self, word: str, kind: str) -> bool:
        # A one-word place of the gazetteer that is no common English word ("SURPRISE", Arizona, is).
        return not is_acronym(word) and (kind == "country" or not self._lex.pos(word) - {"noun"})

    def _name_word(self, word: str, inner: bool) -> str:
        """A shouted word of a name: the prose spelling, else title case (inner particles lower)."""
        if possessive(word):
            return self._name_word(word[:-2], inner) + word[-2] + "s"
        cased = self._ev.cased.get(fold(word))
        if cased:
            return cased_like(cased.most_common(1)[0][0], word)
        return lower(word) if inner and lower(word) in PARTICLES else title_word(word)

    def _name(self, out: list[str | None], texts: list[str], idx: list[int]) -> None:
        for n, k in enumerate(idx):
            out[k] = self._name_word(texts[k], n > 0)

    def _quoted_word(self, word: str) -> str:
        """A word in capitals inside prose, with no cue: the prose spelling, else a country or a
        nationality ("PORTUGAL"), else as written (an acronym, a ticker, a brand: "BILO")."""
        if possessive(word):
            return self._quoted_word(word[:-2]) + word[-2:]
        if not is_shouted(word) or is_acronym(word):
            return word
        key = fold(word)
        cased = self._ev.cased.get(key)
        if cased and sum(cased.values()) >= max(self._ev.lower[key], 1):
            return cased_like(cased.most_common(1)[0][0], word)
        place = place_phrases().get((key,))
        if place is not None and countryish(place):
            return cased_like(place[0], word)
        return word

    def _word(self, word: str) -> str:
        """The prose spelling of one shouted word."""
        if possessive(word):  # possessive: decide on the name
            return self._word(word[:-2]) + word[-2] + "s"
        if not is_shouted(word):
            return lower(word) if word == "A" else word
        ev, key, low = self._ev, fold(word), lower(word)
        # 1. The article's own prose: how it writes the word mid-sentence, in a name, as an acronym.
        cased = ev.cased.get(key)
        if cased and sum(cased.values()) >= max(ev.lower[key], ev.caps[key]):
            return cased_like(cased.most_common(1)[0][0], word)
        if ev.caps[key] > ev.lower[key]:
            return word
        if ev.lower[key] or low in STOP_WORDS:
            return low
        # 2. Acronyms, days and months.
        if is_acronym(word):
            return word
        if low in _CALENDAR:
            return title_word(word)
        # 3. Capitalised only at the start of a sentence, and not a common word that could start one.
        pos = self._lex.pos(word)
        weak = ev.weak.get(key)
        if weak and pos <= {"noun"} and low not in _ROLES and low.removesuffix("s") not in _ROLES:
            return cased_like(weak.most_common(1)[0][0], word)
        # 4. Countries, nationalities, and places that are not also a common verb or adjective.
        place = place_phrases().get((key,))
        if place is not None and (countryish(place) or not pos - {"noun"}):
            return cased_like(place[0], word)
        # 5. A common English word is lower case; a word English does not know is a name.
        if pos or not self._lex:
            return low
        return title_word(word)

    def _place_word(self, word: str, inner: bool) -> str:
        # Every word of a dateline's place is part of a name ("TARPON SPRINGS", "SAN JOSÉ").
        cased = self._ev.cased.get(fold(word))
        if cased:
            return cased_like(cased.most_common(1)[0][0], word)
        if not is_shouted(word) or is_acronym(word):
            return word
        return lower(word) if inner and lower(word) in PARTICLES else title_word(word)

    def titled(self, word: str, first: bool) -> str:
        """A word of a title-case heading: lower case when the prose writes it so or it is a stop word."""
        key = fold(word)
        lower_n = self._ev.lower[key]
        cased = sum(self._ev.cased[key].values()) if key in self._ev.cased else 0
        if (lower_n and lower_n >= cased) or lower(word) in STOP_WORDS:
            low = lower(word)
            return upper_initial(low) if first else low
        return word

    def spellings(self) -> dict[str, str]:
        """The prose spelling of each word the prose capitalises (mid-sentence first, then anywhere)."""
        out: dict[str, str] = {}
        for table in (self._ev.cased, self._ev.weak):
            for k, forms in table.items():
                form = forms.most_common(1)[0][0]
                if not is_shouted(form):
                    out.setdefault(k, form)
        return out
