"""Lines and words as the re-casing reads them, and where a word stands in its sentence."""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W\d_](?:[\w'’-]|\.(?=\w))*", re.UNICODE)
LINE = re.compile(r"[^\n]+")
# A word after one of these (or at the start of a line) starts a sentence or a clause.
_SENTENCE_START = set(".!?:;—–")
_OPENERS = set("\"“‘'([ \t")
MAX_PHRASE = 4


def initial(line: str, pos: int) -> bool:
    """Whether the word at ``pos`` starts a sentence or clause of its line."""
    i = pos - 1
    while i >= 0 and line[i] in _OPENERS:
        i -= 1
    if i < 0 or line[i] in _SENTENCE_START:
        return True
    return line[i] == "-" and i > 0 and line[i - 1] == " "


def possessive(word: str) -> bool:
    return len(word) > 3 and word[-2] in "'’" and word[-1] in "Ss"
