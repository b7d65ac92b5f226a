"""The dateline that opens a wire story: its places, agency credit, comma part and dash."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.enrich.casing.tokens import LINE, MAX_PHRASE, WORD

# What follows the place of a dateline: a comma part, an agency credit, then a dash or a date
# ("BERLIN (dpa) -", "PARIS, March 3 (AFP) —", "LONDON —", "ROME 1996-12-06").
_DATELINE_TAIL = re.compile(
    r"[ \t]*(?P<rest>,[^()\n—–]{0,60}?)?[ \t]*(?:\((?P<credit>[^()\n]{1,40})\)[ \t]*)?"
    r"(?:(?P<dash>[—–]|--?(?=\s))|(?P<date>\d{4}-\d\d-\d\d))"
)
_PLACE_GAP = re.compile(r"\.? ")
_PLACE_SEP = re.compile(r" ?/ ?")  # "BEIJING/TOKYO (Reuters) -": a story filed from two places
_MAX_PLACES = 4


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


def line_dateline(line: str) -> Dateline | None:
    """The all-caps places of a dateline at the start of a line, and its agency credit if any."""
    places: list[tuple[int, int]] = []
    words: list[re.Match[str]] = []
    pos = len(line) - len(line.lstrip())
    for m in WORD.finditer(line, pos):
        gap = line[pos : m.start()]
        if not m.group().isupper():
            break
        first = not words and not places and not gap
        if first or (words and _PLACE_GAP.fullmatch(gap) and len(words) <= MAX_PHRASE):
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
    for m in LINE.finditer(text):
        if (found := line_dateline(m.group())) is not None:
            s = m.start()
            credit, dash, rest = (
                None if p is None else (s + p[0], s + p[1]) for p in (found.credit, found.dash, found.rest)
            )
            places = tuple((s + a, s + b) for a, b in found.places)
            out.append(Dateline(places, credit, dash, found.certain, rest))
    return out
