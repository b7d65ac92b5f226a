"""Case restoration for headline-like lines, so NER does not read capitalised words as names."""

from __future__ import annotations

import re
from collections import Counter

from spacy.lang.en.stop_words import STOP_WORDS

_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
_LINE = re.compile(r"[^\n]+")
_MAX_HEADING_WORDS = 14
_END_PUNCT = (".", "!", "?", ":", ";", '"', "”", ",")


def _is_title_case(words: list[str]) -> bool:
    # Most content words capitalised and no sentence punctuation at the end: a heading.
    content = [w for w in words if w.lower() not in STOP_WORDS or w[0].isupper()]
    caps = sum(1 for w in content if w[0].isupper())
    return len(content) >= 2 and caps >= 0.75 * len(content)


def _is_all_caps(line: str, words: list[str]) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(words) >= 2 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _lower_evidence(text: str) -> tuple[Counter[str], Counter[str]]:
    # How often each word is written in lower case, and capitalised mid-sentence, in the text.
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    prev = "."
    for m in _WORD.finditer(text):
        w = m.group()
        if w.islower():
            lower[w] += 1
        elif w[0].isupper() and not w.isupper() and prev not in ".!?\n\"“":
            upper[w.lower()] += 1
        before = text[max(m.start() - 2, 0) : m.start()].strip()
        prev = before[-1] if before else "\n"
    return lower, upper


def restore_case(text: str) -> str:
    """Return a same-length copy of ``text`` whose headline-like lines are re-cased as prose."""
    lower, upper = _lower_evidence(text)
    chars = list(text)
    for line in _LINE.finditer(text):
        s = line.group()
        words = _WORD.findall(s)
        if not words or len(words) > _MAX_HEADING_WORDS and not _is_all_caps(s, words):
            continue
        caps = _is_all_caps(s, words)
        if not caps and (s.rstrip().endswith(_END_PUNCT) or not _is_title_case(words)):
            continue
        for i, m in enumerate(_WORD.finditer(s)):
            w = m.group()
            key = w.lower()
            if (lower[key] and lower[key] >= upper[key]) or key in STOP_WORDS:
                new = key if i else key.capitalize()
            elif caps:
                new = w if len(w) <= 3 and "." not in w and key not in lower else w.capitalize()
            else:
                continue
            start = line.start() + m.start()
            chars[start : start + len(w)] = new
    return "".join(chars)
