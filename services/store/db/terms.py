"""Index terms: the one tokenizer that both the stored articles and the queries go through.

Both engines store and match only the terms made here, so a query finds the same articles on SQLite
and on PostgreSQL by construction, and a word is split the same way in the query as in the text.

``terms(text)`` normalises (NFKC, case folding, every decimal digit to ASCII), then reads runs of word
characters: letters, digits and combining marks (Unicode L*, N*, M*; a mark stays with its base).
Everything else (spaces, punctuation, symbols) separates, so punctuated words split into their parts:
``covid-19`` gives ``covid 19``, ``F.B.I.`` gives ``f b i``, ``3.5%`` gives ``3 5``, ``O'Brien`` gives
``o brien``, and ``B2B`` stays ``b2b``. Inside a run:

- every character of a script written without spaces between words (Han, Hiragana, Katakana, Hangul,
  Thai, Lao, Khmer, Myanmar, Bopomofo) is a term of its own, with the marks that follow it. A query
  word becomes the phrase of its characters, which is substring matching: ``地铁`` finds
  ``深圳地铁``. Korean separates words by spaces, but particles and endings attach to them
  (``서울에서``, "in Seoul"), so its syllables are terms too and ``서울`` finds ``서울에서``;
- other words are folded (accents and other marks dropped for Latin, Greek, Cyrillic, Armenian,
  Georgian, Arabic and Hebrew letters, plus a few letters that do not decompose, ``ł ø đ ı æ œ``) and
  stemmed with the Snowball English stemmer, whatever their language: ``elections`` and
  ``election`` share a term, ``café`` and ``cafe`` too. A French or Russian word is stemmed by the
  same rules in the text and in the query, so it still matches itself.

There is no stop-word list: every word is indexed. A term keeps at most ``MAX_TERM_CHARS``
characters, in texts and queries alike.

A query word of several terms (``e-mail``, ``深圳``) is searched as a phrase of them, so ``e-mail``
finds ``e-mail`` and ``e mail`` but not ``mail`` and ``e`` apart.

``index(title, summary, body)`` places the terms of an article: title first, then summary, then body,
at most ``MAX_POSITIONS`` of them (PostgreSQL keeps positions up to 16,383) and while the stored vector
stays under ``MAX_VECTOR_BYTES`` (PostgreSQL refuses a tsvector of 1 MB); past that, the rest of the
text is not indexed on either engine. PostgreSQL keeps only the first 256 positions of a term in a
vector, so the later occurrences of a term are holes on both engines: they keep their place, and match
nothing.

The terms depend on these rules, on PyStemmer (pinned) and on the Unicode data of Python's
``unicodedata``. Changing any of them changes the terms of stored articles: a migration must then
index them again, as revision 0005 does.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any

import Stemmer

MAX_TERM_CHARS = 64
MAX_POSITIONS = 16_000  # PostgreSQL stores positions up to 16,383
MAX_OCCURRENCES = 256  # PostgreSQL keeps this many positions of one lexeme in a tsvector
MAX_VECTOR_BYTES = 768 * 1024  # PostgreSQL refuses a tsvector over 1 MB; this estimate stays well below
HOLE = "\ue000"  # a private-use character: never part of a term, so a hole matches no query
WEIGHTS = "ABC"  # title, summary, body
_CHUNK = 1024  # words stemmed at a time: index() stops early in a very long text


def _ranges(codes: Iterable[int]) -> str:
    """Render code points as a regular-expression character class body of ranges."""
    out: list[str] = []
    start = prev = -2
    for code in [*codes, -9]:
        if code == prev + 1:
            prev = code
            continue
        if start >= 0:
            out.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
        start = prev = code
    return "".join(out)


def _code_points() -> Iterator[int]:
    """Every code point that may be a mark or a decimal digit (no other is one, as of Unicode 14)."""
    yield from range(0x80, 0x20000)
    yield from range(0xE0100, 0xE01F0)  # variation selectors (Mn)


_MARKS = _ranges(c for c in _code_points() if unicodedata.category(chr(c)).startswith("M"))
# Every decimal digit becomes its ASCII digit; invisible joiners and soft hyphens are removed, so
# "infor\u00admation" is one word.
_TRANSLATE: dict[int, str | None] = {
    **{c: str(unicodedata.decimal(chr(c))) for c in _code_points() if unicodedata.category(chr(c)) == "Nd"},
    **dict.fromkeys([0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]),
}
# Scripts written without spaces between words; each character is a term.
_UNSPACED = _ranges(
    c
    for lo, hi in (
        (0x0E00, 0x0EFF),  # Thai, Lao
        (0x1000, 0x109F),  # Myanmar
        (0x1100, 0x11FF),  # Hangul Jamo
        (0x1780, 0x17FF),  # Khmer
        (0x19E0, 0x19FF),  # Khmer symbols
        (0x2E80, 0x2FDF),  # CJK and Kangxi radicals
        (0x3005, 0x3007),  # 々 〆 〇
        (0x3021, 0x3029),  # Hangzhou numerals
        (0x3031, 0x3035),  # kana repeat marks
        (0x3038, 0x303C),
        (0x3040, 0x30FF),  # Hiragana, Katakana
        (0x3100, 0x312F),  # Bopomofo
        (0x3130, 0x318F),  # Hangul compatibility Jamo
        (0x31A0, 0x31BF),  # Bopomofo extended
        (0x31F0, 0x31FF),  # Katakana phonetic extensions
        (0x3400, 0x4DBF),  # CJK extension A
        (0x4E00, 0x9FFF),  # CJK unified ideographs
        (0xA960, 0xA97F),  # Hangul Jamo extended A
        (0xA9E0, 0xA9FF),  # Myanmar extended B
        (0xAA60, 0xAA7F),  # Myanmar extended A
        (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
        (0xF900, 0xFAFF),  # CJK compatibility ideographs
        (0x16FE0, 0x16FFF),  # ideographic symbols
        (0x1AFF0, 0x1B16F),  # kana supplements and extensions
        (0x20000, 0x323AF),  # CJK extensions B to H, compatibility supplement
    )
    for c in range(lo, hi + 1)
)
_RUN = re.compile(rf"[\w{_MARKS}]+")  # "_" is replaced by a space first
_PIECE = re.compile(rf"[{_UNSPACED}][{_MARKS}]*|[^{_UNSPACED}]+")
_UNSPACED_CHAR = re.compile(rf"[{_UNSPACED}]")
_FOLDED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "GEORGIAN", "ARABIC", "HEBREW")
# Letters whose accent is part of the base character, so decomposition does not remove it; and the
# Arabic tatweel, a stroke that only stretches a word.
_FOLD = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "æ": "ae", "œ": "oe", "ـ": ""}
_local = threading.local()  # a Stemmer object must not be shared between threads


def _stemmer() -> Any:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=4096)
def _drops_marks(char: str) -> bool:
    """Whether the marks on this base character are accents to fold (its script is one we fold)."""
    return unicodedata.name(char, "").startswith(_FOLDED_SCRIPTS)


def _fold(word: str) -> str:
    """Drop the accents of letters of the folded scripts; keep the marks of other scripts."""
    out: list[str] = []
    drop = False
    for char in unicodedata.normalize("NFKD", word):
        if unicodedata.category(char).startswith("M"):
            if not drop:
                out.append(char)
            continue
        drop = _drops_marks(char)
        out.append(_FOLD.get(char, char))
    return unicodedata.normalize("NFC", "".join(out))


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    return text if text.isascii() else text.translate(_TRANSLATE)


def _term_chunks(text: str) -> Iterator[list[str]]:
    """Yield the terms of ``text`` in order, a chunk of words at a time (one call of the stemmer each)."""
    normal = _normal(text)
    runs = _RUN.findall(normal)
    stem = _stemmer().stemWords
    plain = normal.isascii()  # then every run is one word
    for start in range(0, len(runs), _CHUNK):
        chunk = runs[start : start + _CHUNK]
        found = stem(chunk) if plain else _mixed(chunk, stem)
        if found and max(map(len, found)) > MAX_TERM_CHARS:
            found = [term[:MAX_TERM_CHARS] for term in found]
        yield found


def _mixed(runs: list[str], stem: Any) -> list[str]:
    pieces: list[str] = []  # words to stem, and single characters of unspaced scripts
    stemmed: list[bool] = []
    for run in runs:
        if run.isascii():  # ASCII letters and digits only: one word
            pieces.append(run)
            stemmed.append(True)
            continue
        for piece in _PIECE.findall(run):
            if _UNSPACED_CHAR.match(piece):
                pieces.append(piece)
                stemmed.append(False)
            elif word := _fold(piece):
                pieces.append(word)
                stemmed.append(True)
    words = iter(stem([p for p, s in zip(pieces, stemmed, strict=True) if s]))
    return [next(words) if s else p for p, s in zip(pieces, stemmed, strict=True)]


def terms(text: str) -> list[str]:
    """Return the index terms of ``text``, in order."""
    return [term for chunk in _term_chunks(text) for term in chunk]


def word_count(text: str) -> int:
    """Return how many words ``text`` has: runs of letters and digits between spaces and punctuation."""
    return len(_RUN.findall(_normal(text)))


@dataclass(frozen=True, slots=True)
class Indexed:
    """The indexed terms of an article's title, summary and body; ``None`` is a hole."""

    fields: tuple[tuple[str | None, ...], ...]

    def fts5_columns(self) -> tuple[str, ...]:
        """Each field's terms joined by spaces, for an FTS5 table whose tokenizer splits on them."""
        return tuple(" ".join(HOLE if t is None else t for t in field) for field in self.fields)

    def tsvectors(self) -> tuple[str, str]:
        """The tsvector literals of all fields, and of title and summary only (for ranking).

        Positions run on from field to field with one unused position between fields, so a phrase
        never spans two of them (as in FTS5, where each field is a column). Title terms weigh A,
        summary terms B, body terms C.
        """
        positions: dict[str, list[str]] = {}
        start = 1
        head = ""
        for number, (weight, field) in enumerate(zip(WEIGHTS, self.fields, strict=True)):
            for at, term in enumerate(field, start):
                if term is not None:
                    if (found := positions.get(term)) is None:
                        positions[term] = [f"{at}{weight}"]
                    else:
                        found.append(f"{at}{weight}")
            start += len(field) + 1
            if number == 1:
                head = _vector(positions)
        return _vector(positions), head


def _vector(positions: dict[str, list[str]]) -> str:
    return " ".join(f"{lexeme(term)}:{','.join(at)}" for term, at in positions.items())


def index(title: str, summary: str, body: str) -> Indexed:
    """Place the terms of an article's fields within the limits both engines share."""
    found: tuple[list[str], list[str], list[str]] = (terms(title), terms(summary), [])
    for chunk in _term_chunks(body):  # no further than the body can be indexed
        found[2].extend(chunk)
        if len(found[2]) > MAX_POSITIONS:
            break
    return place(found)


def place(fields: Sequence[list[str]]) -> Indexed:
    """Place the terms of title, summary and body as ``_place_each`` does, at once when all fit.

    All fit in the common case: few enough positions and vector bytes, no term past its limit.
    """
    counts = Counter(chain.from_iterable(fields))
    total = sum(map(len, fields))
    cost = sum(len(term.encode()) + 10 for term in counts) + 2 * (total - len(counts))
    fits = total + len(fields) - 1 <= MAX_POSITIONS and cost <= MAX_VECTOR_BYTES
    if fits and max(counts.values(), default=0) <= MAX_OCCURRENCES:
        return Indexed(tuple(tuple(field) for field in fields))
    return _place_each(fields)


def _place_each(fields: Sequence[Iterable[str]]) -> Indexed:
    """Place terms in order until a limit is reached; occurrences of a term past its limit are holes."""
    seen: dict[str, int] = {}
    budget = MAX_VECTOR_BYTES
    room = MAX_POSITIONS + 1  # each field first takes one: the unused position before it (none for the title)
    placed_fields: list[tuple[str | None, ...]] = []
    for field in fields:
        room -= 1
        placed: list[str | None] = []
        for term in field:
            if room <= 0:
                break
            count = seen.get(term, 0)
            if count >= MAX_OCCURRENCES:
                placed.append(None)  # a hole: PostgreSQL would drop this position
                room -= 1
                continue
            cost = 2 if count else len(term.encode()) + 10  # a position; a new lexeme with its header
            if budget < cost:
                room = 0
                break
            budget -= cost
            seen[term] = count + 1
            room -= 1
            placed.append(term)
        placed_fields.append(tuple(placed))
    return Indexed(tuple(placed_fields))


def lexeme(term: str) -> str:
    """Quote a term as a lexeme of a tsvector or tsquery literal."""
    if "'" in term or "\\" in term:  # never in a term made here; a term from elsewhere is escaped
        term = term.replace("\\", "\\\\").replace("'", "''")
    return f"'{term}'"
