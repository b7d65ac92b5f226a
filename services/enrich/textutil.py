"""Shared text helpers: word tokens, a light stemmer, sentence splitting, word counts."""

from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

_TERM = re.compile(r"[a-z][a-z0-9'-]*[a-z0-9]|[a-z]")
_SENT_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[\"“‘(]?[A-Z0-9])|\n+")
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Gen|Col|Lt|Sgt|Gov|Sen|Rep|Jr|Sr|Inc|Ltd|Co|Corp|vs|No)\.$")
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "s")


def stem(word: str) -> str:
    """Strip one common English suffix so that "elections", "elected" and "election" meet."""
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            word = word[: -len(suf)]
            return word + "y" if suf in ("ies", "ied") else word
    return word


def terms(text: str) -> list[str]:
    """Lower-case, stop-word-free, stemmed content terms of a text."""
    return [stem(w) for w in _TERM.findall(text.lower()) if len(w) > 2 and w not in STOP_WORDS]


def sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a text (paragraph breaks always end one)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        if _ABBREV.search(text[start : m.start()]):
            continue
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def word_count(text: str) -> int:
    """Number of whitespace-separated words that hold a letter or digit."""
    return sum(1 for w in text.split() if any(c.isalnum() for c in w))
