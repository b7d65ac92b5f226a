"""Case restoration for headline-like lines, so NER does not read capitalised words as names."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS

from services.enrich.geo import gazetteer

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]|\.(?=\w))*", re.UNICODE)
_LINE = re.compile(r"[^\n]+")
_MAX_HEADING_WORDS = 14
_END_PUNCT = (".", "!", "?", ":", ";", '"', "”", ",")
_SENTENCE_START = set('.!?"“')


@dataclass(slots=True)
class _Evidence:
    """How words are written in the prose lines of the text."""

    lower: Counter[str] = field(default_factory=Counter)
    upper: Counter[str] = field(default_factory=Counter)
    acronyms: set[str] = field(default_factory=set)

    def add(self, line: str) -> None:
        prev = "."
        for m in _WORD.finditer(line):
            w = m.group()
            if w.islower():
                self.lower[w] += 1
            elif w.isupper() and len(w) > 1:
                self.acronyms.add(w)
            elif w[0].isupper() and prev not in _SENTENCE_START:
                self.upper[w.lower()] += 1
            before = line[max(m.start() - 2, 0) : m.start()].strip()
            prev = before[-1] if before else "."


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


def _recase(word: str, first: bool, shouted: bool, ev: _Evidence) -> str:
    key = word.lower()
    if (ev.lower[key] and ev.lower[key] >= ev.upper[key]) or key in STOP_WORDS:
        return key.capitalize() if first else key
    if not shouted:
        return word
    # In a shouted line a word stays a name only with evidence from the prose or the gazetteer.
    if word in ev.acronyms:
        return word
    if ev.upper[key] or key.title() in gazetteer().places:
        return word.capitalize()
    return key.capitalize() if first else key


def restore_case(text: str) -> str:
    """Return a same-length copy of ``text`` whose headline-like lines are re-cased as prose."""
    lines = [(m.start(), m.group()) for m in _LINE.finditer(text)]
    shouted = {start for start, line in lines if _is_all_caps(line)}
    titled = {
        start for start, line in lines if start not in shouted and _is_title_case(line, _WORD.findall(line))
    }
    ev = _Evidence()
    for start, line in lines:
        if start not in shouted and start not in titled:
            ev.add(line)
    if not shouted and not titled:
        return text
    chars = list(text)
    for start, line in lines:
        if start in shouted or start in titled:
            for i, m in enumerate(_WORD.finditer(line)):
                new = _recase(m.group(), i == 0, start in shouted, ev)
                pos = start + m.start()
                chars[pos : pos + len(new)] = new
    return "".join(chars)
