"""Case restoration: headline-like lines, datelines and shouted text re-cased as prose, so NER reads names.

The copy has exactly the length of the text (offsets hold); letters change case, and the dash that
ends a dateline becomes a full stop. A shouted word
takes the spelling the article's own prose gives it ("PEDRO SÁNCHEZ" -> "Pedro Sánchez"), else the
gazetteer's ("PORTUGAL" -> "Portugal"), stays upper when it is an acronym ("NATO"), becomes lower case
when it is a common English word ("SAID" -> "said") and is title-cased when it is none of these (a
name seen only in capitals).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.lookups import Lookups
from spacy.util import get_package_path

from services.enrich.geo import fold, gazetteer
from services.enrich.names import PARTICLES, is_acronym, is_shouted, title_word, word_set
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
        w = word.lower()
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
        return word.lower()
    if form.isupper():
        return word
    if len(form) != len(word):
        return title_word(word)
    return "".join(c.upper() if f.isupper() else c.lower() for c, f in zip(word, form, strict=True))


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
        while run and run[0].group().lower() in STOP_WORDS:
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
    """The opening of a wire story: where it was filed and by which agency ("PARIS, March 3 (AFP) —")."""

    place: tuple[int, int]
    credit: tuple[int, int] | None
    dash: tuple[int, int] | None
    # A credit, a comma part or a date make it a dateline; a capital word and a dash alone may be a
    # heading ("SOCCER - ...").
    certain: bool


def _dateline(line: str) -> Dateline | None:
    """The all-caps place of a dateline at the start of a line, and its agency credit if any."""
    words: list[re.Match[str]] = []
    pos = len(line) - len(line.lstrip())
    for m in _WORD.finditer(line, pos):
        if words and not _PLACE_GAP.fullmatch(line[pos : m.start()]):
            break
        if not m.group().isupper() or len(words) == _MAX_PHRASE + 1:
            break
        words.append(m)
        pos = m.end()
    if not words or (tail := _DATELINE_TAIL.match(line, pos)) is None:
        return None
    credit = tail.span("credit") if tail.group("credit") else None
    dash = tail.span("dash") if tail.group("dash") else None
    certain = credit is not None or bool(tail.group("rest")) or bool(tail.group("date"))
    return Dateline((words[0].start(), words[-1].end()), credit, dash, certain)


def datelines(text: str) -> list[Dateline]:
    """The datelines of a text (one per line at most), with offsets into the text."""
    out: list[Dateline] = []
    for m in _LINE.finditer(text):
        if (found := _dateline(m.group())) is not None:
            s = m.start()
            credit, dash = ((None if p is None else (s + p[0], s + p[1])) for p in (found.credit, found.dash))
            out.append(Dateline((s + found.place[0], s + found.place[1]), credit, dash, found.certain))
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
        spans.append(dateline.place)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


class _Recaser:
    """Chooses the prose spelling of each shouted word of one text."""

    def __init__(self, ev: _Evidence, lex: Lexicon) -> None:
        self._ev = ev
        self._lex = lex

    def span(self, line: str, words: list[re.Match[str]], place: tuple[int, int] = (0, 0)) -> list[str]:
        """Prose spellings of the shouted words of a line; words inside ``place`` name a dateline's place."""
        texts = [m.group() for m in words]
        out: list[str | None] = [None] * len(words)

        def adjacent(i: int) -> bool:
            return line[words[i].end() : words[i + 1].start()] == " "

        i = 0
        while i < len(words):
            for size in range(min(_MAX_PHRASE, len(words) - i), 1, -1):
                if not all(adjacent(k) for k in range(i, i + size - 1)):
                    continue
                chunk = texts[i : i + size]
                folded = tuple(fold(t) for t in chunk)
                forms = self._ev.phrases.get(folded) or _place_phrases().get(folded)
                if forms is not None:
                    out[i : i + size] = [_cased_like(f, t) for f, t in zip(forms, chunk, strict=True)]
                    i += size
                    break
            else:
                i += 1
        for i, (m, word) in enumerate(zip(words, texts, strict=True)):
            if out[i] is None:
                in_place = place[0] <= m.start() < place[1]
                out[i] = self._place_word(word, i > 0 and in_place) if in_place else self._word(word)
        result: list[str] = []
        for m, word, chosen in zip(words, texts, out, strict=True):
            new = chosen or word
            if new[:1].islower() and _initial(line, m.start()):
                new = new[:1].upper() + new[1:]
            result.append(new if len(new) == len(word) else word)
        return result

    def _word(self, word: str) -> str:
        """The prose spelling of one shouted word."""
        if len(word) > 3 and word[-2] in "'’" and word[-1] in "Ss":  # possessive: decide on the name
            return self._word(word[:-2]) + word[-2] + "s"
        if not is_shouted(word):
            return word.lower() if word == "A" else word
        ev, key, low = self._ev, fold(word), word.lower()
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
        return word.lower() if inner and word.lower() in PARTICLES else title_word(word)

    def titled(self, word: str, first: bool) -> str:
        """A word of a title-case heading: lower case when the prose writes it so or it is a stop word."""
        key = fold(word)
        lower = self._ev.lower[key]
        cased = sum(self._ev.cased[key].values()) if key in self._ev.cased else 0
        if (lower and lower >= cased) or word.lower() in STOP_WORDS:
            low = word.lower()
            return low.capitalize() if first else low
        return word


def restore_case(text: str, lex: Lexicon | None = None) -> str:
    """Return a same-length copy of ``text`` with headings, datelines and shouted text re-cased as prose."""
    lexicon_ = default_lexicon() if lex is None else lex
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text)]
    shouted: dict[int, list[tuple[int, int]]] = {}
    places: dict[int, tuple[int, int]] = {}
    dashes: list[tuple[int, int]] = []
    titled: set[int] = set()
    ev = _Evidence()
    for start, line in lines:
        if (dateline := _dateline(line)) is not None and dateline.certain:
            places[start] = dateline.place
        if dateline is not None and dateline.dash is not None:
            dashes.append((start + dateline.dash[0], start + dateline.dash[1]))
        if _is_all_caps(line):
            shouted[start] = [(0, len(line))]
            continue
        if _is_title_case(line, _WORD.findall(line)):
            titled.add(start)
        if spans := _shouted_spans(line, dateline):
            shouted[start] = spans
    if not shouted and not titled:
        return text
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
    for s, e in dashes:
        # The dash after a dateline ends it: the model reads "London — Fumio Kishida met" as two
        # places, "London . Fumio Kishida met" as a place and a person.
        chars[s:e] = "." + " " * (e - s - 1)
    for start, line in lines:
        spans = shouted.get(start, [])
        if start in titled:
            for i, m in enumerate(_WORD.finditer(line)):
                new = recaser.titled(m.group(), i == 0)
                inside = any(s <= m.start() < e for s, e in spans)
                if not inside and len(new) == len(m.group()):
                    chars[start + m.start() : start + m.end()] = new
        for s, e in spans:
            words = list(_WORD.finditer(line, s, e))
            for m, new in zip(words, recaser.span(line, words, places.get(start, (0, 0))), strict=True):
                chars[start + m.start() : start + m.end()] = new
    return "".join(chars)
