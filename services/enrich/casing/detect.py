"""What in a text is not written as prose: lines in capitals, title-case headings, and words in
capitals inside prose lines."""

from __future__ import annotations

import re

from spacy.lang.en.stop_words import STOP_WORDS

from services.enrich.casing.dateline import Dateline
from services.enrich.casing.tokens import WORD
from services.enrich.names import is_acronym, is_shouted

_MAX_HEADING_WORDS = 14
_END_PUNCT = (".", "!", "?", ":", ";", '"', "”", ",")
_MIN_RUN = 3  # all-caps words in a row inside a prose line that make a shouted stretch


def is_all_caps(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def is_title_case(line: str, words: list[str]) -> bool:
    # Short, no sentence punctuation at the end, most content words capitalised: a heading.
    if len(words) > _MAX_HEADING_WORDS or line.rstrip().endswith(_END_PUNCT):
        return False
    content = [w for w in words if w.lower() not in STOP_WORDS or w[0].isupper()]
    caps = sum(1 for w in content if w[0].isupper())
    return len(content) >= 2 and caps >= 0.75 * len(content)


def _caps_runs(line: str) -> list[tuple[int, int]]:
    # Stretches of a prose line written in capitals: at least _MIN_RUN all-caps words in a row.
    out: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    for m in [*WORD.finditer(line), None]:
        if m is not None and m.group().isupper():
            gap = line[run[-1].end() : m.start()] if run else ""
            if not any(c.isalpha() for c in gap):
                run.append(m)
                continue
        if sum(len(r.group()) > 1 for r in run) >= _MIN_RUN:
            out.append((run[0].start(), run[-1].end()))
        run = [m] if m is not None and m.group().isupper() else []
    return out


def shouted_spans(line: str, dateline: Dateline | None) -> list[tuple[int, int]]:
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


_CAPS = re.compile(r"[^\W\d_a-z]{2}")


def quoted(line: str) -> bool:
    """Whether a prose line has a word in capitals that may be re-cased (acronyms are left as written)."""
    return bool(_CAPS.search(line)) and any(
        m.group().isupper() and is_shouted(m.group()) and not is_acronym(m.group())
        for m in WORD.finditer(line)
    )


def short_runs(line: str, ws: list[re.Match[str]], taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
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
