"""Case restoration: headline-like lines, datelines and shouted text re-cased as prose, so NER reads names.

The copy has exactly the length of the text (offsets hold); letters change case, and the dash that
ends a dateline becomes a full stop. A shouted word
takes the spelling the article's own prose gives it ("PEDRO SÁNCHEZ" -> "Pedro Sánchez"), else the
gazetteer's ("PORTUGAL" -> "Portugal"), stays upper when it is an acronym ("NATO"), becomes lower case
when it is a common English word ("SAID" -> "said") and is title-cased when it is none of these (a
name seen only in capitals).

Names in capitals are also read from the shape of the sentence, because English words make names too
("MARINE LE PEN", "EMMANUEL MACRON"): a run of two to four capitalised words before a reporting verb
("... SAID") or after a person's title ("PRESIDENT ...") is a person, and capitals after "in", "at" or
"from" are a place. These readings come back as cues that type what the model reads there. Inside a
prose line, a few words in capitals are re-cased only on such evidence ("The mayor of SAO PAULO",
"LE PEN denied"); otherwise they stay as written (acronyms, tickers).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.lookups import Lookups
from spacy.util import get_package_path

from services.contracts import EntityType
from services.enrich.geo import fold, gazetteer
from services.enrich.names import (
    NAME_PARTICLES,
    PARTICLES,
    PERSON_OBJECT_VERBS,
    PERSON_TITLES,
    REPORTING_VERBS,
    is_acronym,
    is_shouted,
    lower,
    title_word,
    upper_initial,
    word_set,
)
from services.enrich.ner import DEFAULT_MODEL

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]|\.(?=\w))*", re.UNICODE)
_LINE = re.compile(r"[^\n]+")
_MAX_HEADING_WORDS = 14
_END_PUNCT = (".", "!", "?", ":", ";", '"', "”", ",")
# A word after one of these (or at the start of a line) starts a sentence or a clause.
_SENTENCE_START = set(".!?:;—–")
_OPENERS = set("\"“‘'([ \t")
_MIN_RUN = 3  # all-caps words in a row inside a prose line that make a shouted stretch
_MAX_PHRASE = 4
# What follows the place of a dateline: a comma part, an agency credit, then a dash or a date
# ("BERLIN (dpa) -", "PARIS, March 3 (AFP) —", "LONDON —", "ROME 1996-12-06").
_DATELINE_TAIL = re.compile(
    r"[ \t]*(?P<rest>,[^()\n—–]{0,60}?)?[ \t]*(?:\((?P<credit>[^()\n]{1,40})\)[ \t]*)?"
    r"(?:(?P<dash>[—–]|--?(?=\s))|(?P<date>\d{4}-\d\d-\d\d))"
)
_PLACE_GAP = re.compile(r"\.? ")
_PLACE_SEP = re.compile(r" ?/ ?")  # "BEIJING/TOKYO (Reuters) -": a story filed from two places
_MAX_PLACES = 4
# Words after which capitals name a place ("In KHARKIV, rescuers ...").
_PLACE_PREPOSITIONS = frozenset({"in", "at", "from"})
# The last word of an organisation's name ("THE WORLD TRADE ORGANIZATION SAID").
_ORG_HEADS = word_set(
    """
    ministry council department agency commission committee parliament congress senate assembly bank
    university party court office bureau authority service corporation company association federation
    organization organisation institute foundation board cabinet government police army navy union
    league alliance fund group holdings airlines airways inc corp ltd plc
    """
)
# Word kinds that can be part of a name read from the shape of a sentence.
_NAME, _COMMON, _PARTICLE = "name", "common", "particle"
_IN_NAME = frozenset({_NAME, _COMMON, _PARTICLE})
_MAX_NAME_WORDS = 4
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
_POS = ("noun", "verb", "adj", "adv")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """English common words: the WordNet lemma tables that ship with the spaCy model's lemmatizer."""

    index: dict[str, frozenset[str]] = field(default_factory=dict)
    exceptions: dict[str, frozenset[str]] = field(default_factory=dict)
    rules: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.index)

    def pos(self, word: str) -> frozenset[str]:
        """Parts of speech a word form can have ("officials" -> noun); empty for an unknown word."""
        w = lower(word)
        found = set()
        for pos in _POS:
            lemmas = self.index.get(pos, frozenset())
            if w in lemmas or w in self.exceptions.get(pos, frozenset()):
                found.add(pos)
                continue
            for old, new in self.rules.get(pos, ()):
                if w.endswith(old) and len(w) > len(old) and w[: len(w) - len(old)] + new in lemmas:
                    found.add(pos)
                    break
        if not found and "-" in w:
            # "SKIING-WOMEN": a compound of known words is a common word too.
            parts = [p for p in w.split("-") if p]
            if parts and all(self.pos(p) for p in parts):
                return self.pos(parts[-1])
        return frozenset(found)


@cache
def lexicon(model_path: Path | None) -> Lexicon:
    """Load the lemmatizer tables of a spaCy model directory; an empty lexicon when they are absent."""
    path = None if model_path is None else model_path / "lemmatizer" / "lookups"
    if path is None or not (path / "lookups.bin").exists():
        return Lexicon()
    lookups = Lookups().from_disk(path)
    if not all(lookups.has_table(t) for t in ("lemma_index", "lemma_exc", "lemma_rules")):
        return Lexicon()
    index, exc, rules = (lookups.get_table(t) for t in ("lemma_index", "lemma_exc", "lemma_rules"))
    return Lexicon(
        index={p: frozenset(index.get(p, [])) for p in _POS},
        exceptions={p: frozenset(exc.get(p, {})) for p in _POS},
        rules={p: tuple((str(a), str(b)) for a, b in rules.get(p, [])) for p in _POS},
    )


@cache
def default_lexicon() -> Lexicon:
    """The lexicon of the default spaCy model, when it is installed."""
    try:
        root = get_package_path(DEFAULT_MODEL)
    except Exception:  # not installed: degrade to no lexicon
        return Lexicon()
    return lexicon(next((p for p in root.iterdir() if (p / "meta.json").exists()), None))


@cache
def _place_phrases() -> dict[tuple[str, ...], tuple[str, ...]]:
    # Gazetteer names and nationality words by their case-folded words: ("new", "zealand") -> New Zealand.
    gaz = gazetteer()
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    for name in [*gaz.places, *gaz.demonyms]:
        words = name.split()
        if len(words) <= _MAX_PHRASE:
            out.setdefault(tuple(fold(w) for w in words), tuple(words))
    return out


def _cased_like(form: str, word: str) -> str:
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


def _countryish(words: tuple[str, ...]) -> bool:
    gaz = gazetteer()
    name = " ".join(words)
    place = gaz.places.get(name)
    return gaz.demonym(name) is not None or (place is not None and place.kind == "country")


def _initial(line: str, pos: int) -> bool:
    """Whether the word at ``pos`` starts a sentence or clause of its line."""
    i = pos - 1
    while i >= 0 and line[i] in _OPENERS:
        i -= 1
    if i < 0 or line[i] in _SENTENCE_START:
        return True
    return line[i] == "-" and i > 0 and line[i - 1] == " "


@dataclass(slots=True)
class _Evidence:
    """How words are written in the prose of the text."""

    lower: Counter[str] = field(default_factory=Counter)
    caps: Counter[str] = field(default_factory=Counter)
    cased: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    weak: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    phrases: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def add(self, line: str, start: int = 0, end: int | None = None) -> None:
        run: list[re.Match[str]] = []
        for m in _WORD.finditer(line, start, len(line) if end is None else end):
            w = m.group()
            if run and line[run[-1].end() : m.start()] != " ":
                self._run(line, run)
                run = []
            if w.islower():
                self.lower[fold(w)] += 1
            elif w.isupper() and len(w) > 1:
                self.caps[fold(w)] += 1
            if w[0].isupper():
                run.append(m)
            else:
                self._run(line, run)
                run = []
        self._run(line, run)

    def _run(self, line: str, run: list[re.Match[str]]) -> None:
        # Capitalised words in a row: a name ("Pedro Sánchez spoke"), even at the start of a sentence.
        while run and lower(run[0].group()) in STOP_WORDS:
            run = run[1:]
        words = [m.group() for m in run]
        for m, w in zip(run, words, strict=True):
            if w.isupper() and len(w) > 1:
                continue
            if len(run) > 1 or not _initial(line, m.start()):
                self.cased[fold(w)][w] += 1
            else:
                self.weak[fold(w)][w] += 1
        for size in range(2, _MAX_PHRASE + 1):
            for i in range(len(words) - size + 1):
                part = tuple(words[i : i + size])
                if not any(w.isupper() and len(w) > 1 for w in part):  # capitals are no prose spelling
                    self.phrases.setdefault(tuple(fold(w) for w in part), part)


def _is_all_caps(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _is_title_case(line: str, words: list[str]) -> bool:
    # Short, no sentence punctuation at the end, most content words capitalised: a heading.
    if len(words) > _MAX_HEADING_WORDS or line.rstrip().endswith(_END_PUNCT):
        return False
    content = [w for w in words if w.lower() not in STOP_WORDS or w[0].isupper()]
    caps = sum(1 for w in content if w[0].isupper())
    return len(content) >= 2 and caps >= 0.75 * len(content)


@dataclass(frozen=True, slots=True)
class Dateline:
    """The opening of a wire story: where it was filed and by which agency ("PARIS, March 3 (AFP) —").

    A story filed from several places names them all ("BEIJING/TOKYO (Reuters) —").
    """

    places: tuple[tuple[int, int], ...]
    credit: tuple[int, int] | None
    dash: tuple[int, int] | None
    # A credit, a comma part or a date make it a dateline; a capital word and a dash alone may be a
    # heading ("SOCCER - ...").
    certain: bool
    rest: tuple[int, int] | None = None  # the comma part: ", Brazil", ", March 3"

    @property
    def place(self) -> tuple[int, int]:
        """The first place of the dateline."""
        return self.places[0]


def _dateline(line: str) -> Dateline | None:
    """The all-caps places of a dateline at the start of a line, and its agency credit if any."""
    places: list[tuple[int, int]] = []
    words: list[re.Match[str]] = []
    pos = len(line) - len(line.lstrip())
    for m in _WORD.finditer(line, pos):
        gap = line[pos : m.start()]
        if not m.group().isupper():
            break
        first = not words and not places and not gap
        if first or (words and _PLACE_GAP.fullmatch(gap) and len(words) <= _MAX_PHRASE):
            words.append(m)
        elif words and _PLACE_SEP.fullmatch(gap) and len(places) < _MAX_PLACES - 1:
            places.append((words[0].start(), words[-1].end()))
            words = [m]
        else:
            break
        pos = m.end()
    if not words or (tail := _DATELINE_TAIL.match(line, pos)) is None:
        return None
    places.append((words[0].start(), words[-1].end()))
    credit = tail.span("credit") if tail.group("credit") else None
    dash = tail.span("dash") if tail.group("dash") else None
    rest = tail.span("rest") if tail.group("rest") else None
    certain = credit is not None or rest is not None or bool(tail.group("date"))
    return Dateline(tuple(places), credit, dash, certain, rest)


def datelines(text: str) -> list[Dateline]:
    """The datelines of a text (one per line at most), with offsets into the text."""
    out: list[Dateline] = []
    for m in _LINE.finditer(text):
        if (found := _dateline(m.group())) is not None:
            s = m.start()
            credit, dash, rest = (
                None if p is None else (s + p[0], s + p[1]) for p in (found.credit, found.dash, found.rest)
            )
            places = tuple((s + a, s + b) for a, b in found.places)
            out.append(Dateline(places, credit, dash, found.certain, rest))
    return out


def _caps_runs(line: str) -> list[tuple[int, int]]:
    # Stretches of a prose line written in capitals: at least _MIN_RUN all-caps words in a row.
    out: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    for m in [*_WORD.finditer(line), None]:
        if m is not None and m.group().isupper():
            gap = line[run[-1].end() : m.start()] if run else ""
            if not any(c.isalpha() for c in gap):
                run.append(m)
                continue
        if sum(len(r.group()) > 1 for r in run) >= _MIN_RUN:
            out.append((run[0].start(), run[-1].end()))
        run = [m] if m is not None and m.group().isupper() else []
    return out


def _shouted_spans(line: str, dateline: Dateline | None) -> list[tuple[int, int]]:
    spans = _caps_runs(line)
    if dateline is not None:
        spans.extend(dateline.places)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


@dataclass(frozen=True, slots=True)
class Cue:
    """A stretch of the text whose type the shape of the copy gives: a person before "SAID", a place
    after "in". ``strong``: the stretch is that entity, whatever the model reads there; otherwise it
    only stands in for a stretch the model did not see at all."""

    start: int
    end: int
    type: EntityType
    strong: bool
    # Read from the verb around the words only ("... SAID", "MET ..."): an organisation the model
    # reads over the same words stays one, unless the text names the person by surname elsewhere.
    by_verb: bool = False


@dataclass(frozen=True, slots=True)
class Recased:
    """A text re-cased for NER, the cues read on the way, and the prose spelling of capitalised words
    (by case-folded word: "sanchez" -> "Sánchez")."""

    text: str
    cues: tuple[Cue, ...] = ()
    spellings: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _possessive(word: str) -> bool:
    return len(word) > 3 and word[-2] in "'’" and word[-1] in "Ss"


class _Recaser:
    """Chooses the prose spelling of each shouted word of one text."""

    def __init__(self, ev: _Evidence, lex: Lexicon) -> None:
        self._ev = ev
        self._lex = lex
        self._placed: set[int] = set()  # words of the current line that end a place cue

    def new_line(self) -> None:
        """Forget what was read on the previous line."""
        self._placed = set()

    def span(
        self,
        line: str,
        ws: list[re.Match[str]],
        lo: int,
        hi: int,
        places: list[tuple[int, int]] | None = None,
        shout: bool = True,
    ) -> tuple[list[str], list[Cue]]:
        """Prose spellings of the words ``ws[lo:hi]`` of a line, and the cues they give.

        ``ws`` are all the words of the line (the context of the stretch); words inside ``places``
        name a dateline's place. ``shout``: the stretch is shouted text, re-cased word by word; otherwise
        it is a few words in capitals inside prose, re-cased only on evidence.
        """
        words = ws[lo:hi]
        texts = [m.group() for m in words]
        out: list[str | None] = [None] * len(words)
        kinds: list[str] = [""] * len(words)
        place_spans = places or []

        def adjacent(i: int) -> bool:
            return line[words[i].end() : words[i + 1].start()] == " "

        i = 0
        while i < len(words):
            for size in range(min(_MAX_PHRASE, len(words) - i), 1, -1):
                if not all(adjacent(k) for k in range(i, i + size - 1)):
                    continue
                chunk = texts[i : i + size]
                folded = tuple(fold(t) for t in chunk)
                prose = self._ev.phrases.get(folded)
                forms = prose or _place_phrases().get(folded)
                if forms is not None:
                    out[i : i + size] = [_cased_like(f, t) for f, t in zip(forms, chunk, strict=True)]
                    kinds[i : i + size] = [_NAME if prose else "place"] * size
                    i += size
                    break
            else:
                i += 1
        for i, m in enumerate(words):
            if out[i] is None and any(s <= m.start() < e for s, e in place_spans):
                first = any(s == m.start() for s, _ in place_spans)
                out[i] = self._place_word(texts[i], not first)
                kinds[i] = "place"
            elif not kinds[i]:
                kinds[i] = self._kind(texts[i])
        cues = self._places_after_prepositions(line, ws, lo, out, kinds)
        cues += self._name_runs(line, ws, lo, out, kinds, shout)
        for i, word in enumerate(texts):
            if out[i] is None:
                out[i] = self._word(word) if shout else self._quoted_word(word)
        result: list[str] = []
        for m, word, chosen in zip(words, texts, out, strict=True):
            new = chosen or word
            if new[:1].islower() and _initial(line, m.start()):
                new = upper_initial(new)
            result.append(new if len(new) == len(word) else word)
        return result, cues

    def _kind(self, word: str) -> str:
        """What a shouted word can be in a name read from the shape of a sentence."""
        base = word[:-2] if _possessive(word) else word
        low, key = lower(base), fold(base)
        if not is_shouted(base):
            return "fixed"
        if low in REPORTING_VERBS:
            return "verb"
        if low in STOP_WORDS:
            return "stop"
        if low in NAME_PARTICLES:
            return _PARTICLE
        if low in _CALENDAR or low in PERSON_TITLES or low in _ROLES or low.removesuffix("s") in _ROLES:
            return "role"
        if is_acronym(base):
            return "acronym"
        ev = self._ev
        cased = sum(ev.cased[key].values()) if key in ev.cased else 0
        if ev.lower[key] > cased:
            return _COMMON
        place = _place_phrases().get((key,))
        if place is not None and (_countryish(place) or not self._lex.pos(base) - {"noun"}):
            return "place"
        pos = self._lex.pos(base)
        if low.endswith(("man", "woman")) and pos and not cased:  # "ENGLISHMAN CHARLTON", "CHAIRMAN"
            return "role"
        if cased or (self._lex and not pos):
            return _NAME
        return _COMMON

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
        if _possessive(word):
            return self._name_word(word[:-2], inner) + word[-2] + "s"
        cased = self._ev.cased.get(fold(word))
        if cased:
            return _cased_like(cased.most_common(1)[0][0], word)
        return lower(word) if inner and lower(word) in PARTICLES else title_word(word)

    def _name(self, out: list[str | None], texts: list[str], idx: list[int]) -> None:
        for n, k in enumerate(idx):
            out[k] = self._name_word(texts[k], n > 0)

    def _places_after_prepositions(
        self, line: str, ws: list[re.Match[str]], lo: int, out: list[str | None], kinds: list[str]
    ) -> list[Cue]:
        # "In KHARKIV," / "POLICE IN GLASGOW ARRESTED": capitals after in/at/from name a place.
        cues: list[Cue] = []
        texts = [m.group() for m in ws]
        placed = self._placed
        for i in range(len(kinds)):
            k = lo + i
            if k == 0 or line[ws[k - 1].end() : ws[k].start()] != " ":
                continue
            # "in GENEVA and BERN": a place after "and"/"or" that follows a place continues the list.
            listed = (
                lower(texts[k - 1]) in ("and", "or")
                and k - 2 in placed
                and line[ws[k - 2].end() : ws[k - 1].start()] == " "
            )
            if (lower(texts[k - 1]) not in _PLACE_PREPOSITIONS and not listed) or kinds[i] in (
                "stop",
                "verb",
                "role",
                "fixed",
            ):
                continue
            if _possessive(texts[k]) or (
                i > 0 and out[i] is not None and kinds[i - 1] == kinds[i] == "place"
            ):
                continue
            run = [i]
            while (
                len(run) < _MAX_PHRASE
                and run[-1] + 1 < len(kinds)
                and line[ws[lo + run[-1]].end() : ws[lo + run[-1] + 1].start()] == " "
                and kinds[run[-1] + 1] in (*_IN_NAME, "place")
                and not _possessive(texts[lo + run[-1]])
            ):
                run.append(run[-1] + 1)
            for size in range(len(run), 0, -1):
                part = run[:size]
                place = gazetteer().place(" ".join(texts[lo + j] for j in part))
                if place is not None and (size > 1 or self._place_like(texts[k], place.kind)):
                    if any(out[j] is None for j in part):
                        self._name(out, [texts[lo + j] for j in range(len(kinds))], part)
                    cues.append(Cue(ws[lo + part[0]].start(), ws[lo + part[-1]].end(), "LOCATION", True))
                    placed.add(lo + part[-1])
                    break
            else:
                # A name English does not know ("In KHAN YOUNIS,"); common words stay out of it.
                named = [j for j in run[:3] if kinds[j] in (_NAME, _PARTICLE) and out[j] is None]
                named = named[: next((n for n, j in enumerate(named) if j != named[0] + n), len(named))]
                if named and named[0] == i and kinds[i] == _NAME:
                    self._name(out, [texts[lo + j] for j in range(len(kinds))], named)
                    cues.append(Cue(ws[lo + named[0]].start(), ws[lo + named[-1]].end(), "LOCATION", False))
                    placed.add(lo + named[-1])
        return cues

    def _name_runs(
        self,
        line: str,
        ws: list[re.Match[str]],
        lo: int,
        out: list[str | None],
        kinds: list[str],
        shout: bool,
    ) -> list[Cue]:
        # Runs of words that may form a name, typed by what stands around them.
        cues: list[Cue] = []
        texts = [m.group() for m in ws[lo : lo + len(kinds)]]

        def gap(k: int) -> str:  # between ws[k] and ws[k + 1]
            return line[ws[k].end() : ws[k + 1].start()]

        i = 0
        while i < len(kinds):
            if kinds[i] not in _IN_NAME or out[i] is not None:
                i += 1
                continue
            j = i + 1
            while (
                j < len(kinds)
                and kinds[j] in _IN_NAME
                and out[j] is None
                and gap(lo + j - 1) == " "
                and not _possessive(texts[j - 1])
            ):
                j += 1
            cues += self._run(line, ws, lo, list(range(i, j)), out, kinds, shout)
            i = j
        return cues

    def _run(
        self,
        line: str,
        ws: list[re.Match[str]],
        lo: int,
        run: list[int],
        out: list[str | None],
        kinds: list[str],
        shout: bool,
    ) -> list[Cue]:
        texts = [m.group() for m in ws[lo : lo + len(kinds)]]
        first, last = lo + run[0], lo + run[-1]
        before = (
            ws[first - 1].group()
            if first > 0 and line[ws[first - 1].end() : ws[first].start()] == " "
            else ""
        )
        after = (
            ws[last + 1].group()
            if last + 1 < len(ws) and line[ws[last].end() : ws[last + 1].start()] == " "
            else ""
        )
        titled = lower(before) in PERSON_TITLES
        reports = lower(after) in REPORTING_VERBS and not _possessive(texts[run[-1]])
        if lower(before) in PERSON_OBJECT_VERBS and not (titled or reports):
            # The object of "MET": a name when it ends in a word English does not know ("XI JINPING",
            # not "BUSINESS LEADERS" nor "VOLKSWAGEN WORKERS").
            part = _name_part(run, kinds)
            surname = len(part) >= 2 and (
                kinds[part[-1]] == _NAME or (kinds[part[-2]] == _NAME and self._plain_noun(texts[part[-1]]))
            )
            if surname:
                self._name(out, texts, part)
                end = ws[lo + part[-1]].end() - (2 if _possessive(texts[part[-1]]) else 0)
                return [Cue(ws[lo + part[0]].start(), end, "PERSON", True, by_verb=True)]
        if titled or reports:
            # The subject of "... SAID" ends at the verb; a name after a title starts there.
            part = _name_part(run if titled else run[::-1], kinds)
            part = part if titled else part[::-1]
            if titled:  # a name after a title ends before a verb ("PRESIDENT XI JINPING ARRIVED")
                verb = next((n for n, k in enumerate(part) if n and self._verb_only(texts[k])), len(part))
                part = part[:verb]
            while len(part) > 1 and kinds[part[-1]] == _PARTICLE:
                part = part[:-1]
            head = lower(texts[part[-1]].rstrip("'’Ss") if _possessive(texts[part[-1]]) else texts[part[-1]])
            has_name = any(kinds[k] == _NAME for k in part) or any(kinds[k] == _PARTICLE for k in part[:-1])
            etype: EntityType | None = None
            if head in _ORG_HEADS and len(part) >= 2 and not titled and (has_name or len(part) >= 3):
                etype = "ORG"
            elif has_name and (len(part) >= 2 or titled):
                etype = "PERSON"
            if etype is not None or (has_name and reports and shout):
                self._name(out, texts, part)
            if etype is not None:
                end = ws[lo + part[-1]].end() - (2 if _possessive(texts[part[-1]]) else 0)
                return [Cue(ws[lo + part[0]].start(), end, etype, True, by_verb=not titled)]
            return []
        # No cue: a particle makes a name of its neighbours ("CHARLES DE GAULLE"), and a word of one or
        # two letters next to a name is part of it ("XI JINPING").
        for n, k in enumerate(run):
            if kinds[k] == _PARTICLE and n < len(run) - 1:
                part = run[max(0, n - 1) : n + 3]
                if any(kinds[x] != _PARTICLE for x in part):
                    self._name(out, texts, [x for x in part if out[x] is None])
        for n, k in enumerate(run):
            short = sum(c.isalpha() for c in texts[k]) <= 2
            near = [run[x] for x in (n - 1, n + 1) if 0 <= x < len(run)]
            if out[k] is None and short and kinds[k] == _COMMON and any(kinds[x] == _NAME for x in near):
                out[k] = title_word(texts[k])
        return []

    def _quoted_word(self, word: str) -> str:
        """A word in capitals inside prose, with no cue: the prose spelling, else a country or a
        nationality ("PORTUGAL"), else as written (an acronym, a ticker, a brand: "BILO")."""
        if _possessive(word):
            return self._quoted_word(word[:-2]) + word[-2:]
        if not is_shouted(word) or is_acronym(word):
            return word
        key = fold(word)
        cased = self._ev.cased.get(key)
        if cased and sum(cased.values()) >= max(self._ev.lower[key], 1):
            return _cased_like(cased.most_common(1)[0][0], word)
        place = _place_phrases().get((key,))
        if place is not None and _countryish(place):
            return _cased_like(place[0], word)
        return word

    def _word(self, word: str) -> str:
        """The prose spelling of one shouted word."""
        if _possessive(word):  # possessive: decide on the name
            return self._word(word[:-2]) + word[-2] + "s"
        if not is_shouted(word):
            return lower(word) if word == "A" else word
        ev, key, low = self._ev, fold(word), lower(word)
        # 1. The article's own prose: how it writes the word mid-sentence, in a name, as an acronym.
        cased = ev.cased.get(key)
        if cased and sum(cased.values()) >= max(ev.lower[key], ev.caps[key]):
            return _cased_like(cased.most_common(1)[0][0], word)
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
            return _cased_like(weak.most_common(1)[0][0], word)
        # 4. Countries, nationalities, and places that are not also a common verb or adjective.
        place = _place_phrases().get((key,))
        if place is not None and (_countryish(place) or not pos - {"noun"}):
            return _cased_like(place[0], word)
        # 5. A common English word is lower case; a word English does not know is a name.
        if pos or not self._lex:
            return low
        return title_word(word)

    def _place_word(self, word: str, inner: bool) -> str:
        # Every word of a dateline's place is part of a name ("TARPON SPRINGS", "SAN JOSÉ").
        cased = self._ev.cased.get(fold(word))
        if cased:
            return _cased_like(cased.most_common(1)[0][0], word)
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


def _name_part(run: list[int], kinds: list[str]) -> list[int]:
    # The first words of a run that make one name: at most _MAX_NAME_WORDS besides particles.
    part: list[int] = []
    for k in run:
        if sum(kinds[x] != _PARTICLE for x in [*part, k]) > _MAX_NAME_WORDS:
            break
        part.append(k)
    return part


_CAPS = re.compile(r"[^\W\d_a-z]{2}")


def _quoted(line: str) -> bool:
    """Whether a prose line has a word in capitals that may be re-cased (acronyms are left as written)."""
    return bool(_CAPS.search(line)) and any(
        m.group().isupper() and is_shouted(m.group()) and not is_acronym(m.group())
        for m in _WORD.finditer(line)
    )


def _short_runs(line: str, ws: list[re.Match[str]], taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # Words in capitals inside a prose line, outside the shouted stretches: (first, end) word indices.
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(ws):
        m = ws[i]
        if not (m.group().isupper() and sum(c.isalpha() for c in m.group()) > 1) or any(
            s <= m.start() < e for s, e in taken
        ):
            i += 1
            continue
        j = i + 1
        while (
            j < len(ws)
            and ws[j].group().isupper()
            and not any(c.isalpha() for c in line[ws[j - 1].end() : ws[j].start()])
        ):
            j += 1
        out.append((i, j))
        i = j
    return out


def restore_case(text: str, lex: Lexicon | None = None) -> str:
    """Return a same-length copy of ``text`` with headings, datelines and shouted text re-cased as prose."""
    return recase(text, lex).text


def recase(text: str, lex: Lexicon | None = None) -> Recased:
    """Re-case ``text`` for NER (same length), with the cues and prose spellings read on the way."""
    lexicon_ = default_lexicon() if lex is None else lex
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text)]
    shouted: dict[int, list[tuple[int, int]]] = {}
    places: dict[int, list[tuple[int, int]]] = {}
    dashes: list[tuple[int, int]] = []
    titled: set[int] = set()
    caps_lines: set[int] = set()
    ev = _Evidence()
    for start, line in lines:
        if (dateline := _dateline(line)) is not None and dateline.certain:
            places[start] = list(dateline.places)
        if dateline is not None and dateline.dash is not None:
            dashes.append((start + dateline.dash[0], start + dateline.dash[1]))
        if _is_all_caps(line):
            shouted[start] = [(0, len(line))]
            caps_lines.add(start)
            continue
        if _is_title_case(line, _WORD.findall(line)):
            titled.add(start)
        if spans := _shouted_spans(line, dateline):
            shouted[start] = spans
    if not shouted and not titled and not any(_quoted(line) for start, line in lines):
        return Recased(text)
    for start, line in lines:
        if start in titled:
            continue
        pos = 0
        for s, e in shouted.get(start, []):
            ev.add(line, pos, s)
            pos = e
        ev.add(line, pos)
    recaser = _Recaser(ev, lexicon_)
    chars = list(text)
    cues: list[Cue] = []
    for s, e in dashes:
        # The dash after a dateline ends it: the model reads "London — Fumio Kishida met" as two
        # places, "London . Fumio Kishida met" as a place and a person.
        chars[s:e] = "." + " " * (e - s - 1)
    for start, line in lines:
        spans = shouted.get(start, [])
        ws = list(_WORD.finditer(line))
        recaser.new_line()
        if start in titled:
            for i, m in enumerate(ws):
                new = recaser.titled(m.group(), i == 0)
                inside = any(s <= m.start() < e for s, e in spans)
                if not inside and len(new) == len(m.group()):
                    chars[start + m.start() : start + m.end()] = new
        stretches = [
            (lo, hi, True)
            for s, e in spans
            if (lo := next((i for i, m in enumerate(ws) if m.start() >= s), len(ws)))
            < (hi := next((i for i, m in enumerate(ws) if m.start() >= e), len(ws)))
        ]
        if start not in caps_lines and start not in titled:
            stretches += [(lo, hi, False) for lo, hi in _short_runs(line, ws, spans)]
        stretches.sort()  # in reading order: a place list runs on from its first place
        for lo, hi, shout in stretches:
            new_words, found = recaser.span(line, ws, lo, hi, places.get(start), shout)
            for m, new in zip(ws[lo:hi], new_words, strict=True):
                chars[start + m.start() : start + m.end()] = new
            cues.extend(replace(c, start=start + c.start, end=start + c.end) for c in found)
    return Recased("".join(chars), tuple(cues), MappingProxyType(recaser.spellings()))
