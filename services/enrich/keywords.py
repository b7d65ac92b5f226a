"""Key phrases: a light RAKE-style scorer over the body, ignoring phrases inside entity names."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from spacy.lang.en.stop_words import STOP_WORDS

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]|[0-9][0-9.,]*|[^\sA-Za-z0-9]")
_MAX_WORDS = 3
# A short line without final punctuation is a subheading, byline or dateline, not prose.
_LINE = re.compile(r"[^\n]+")
_FINAL_PUNCT = re.compile(r"[.!?:;…][\"'”’)\]]*\s*$")
_SUBHEADING_WORDS = 10
# Words that carry no topic on their own: reporting verbs, calendar words, vague nouns.
_GENERIC = {
    "said",
    "says",
    "year",
    "years",
    "time",
    "times",
    "people",
    "told",
    "new",
    "like",
    "just",
    "also",
    "set",
    "come",
    "came",
    "make",
    "made",
    "way",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "yesterday",
    "tomorrow",
    "according",
    "including",
    "ago",
    "lot",
    "thing",
    "things",
}


def _runs(body: str, blocked: Sequence[tuple[int, int]]) -> list[tuple[list[str], int]]:
    # Runs of content words, broken by stop words, punctuation, numbers or entity mentions.
    spans = sorted(blocked)
    out: list[tuple[list[str], int]] = []
    run: list[str] = []
    start = 0
    k = 0
    for m in _TOKEN.finditer(body):
        while k < len(spans) and spans[k][1] <= m.start():
            k += 1
        inside = k < len(spans) and spans[k][0] <= m.start() < spans[k][1]
        word = m.group().lower().replace("’", "'")
        content = word[0].isalpha() and len(word) > 2 and word not in STOP_WORDS and word not in _GENERIC
        if inside or not content or word.endswith("'s"):
            if run:
                out.append((run, start))
            run = []
            continue
        if not run:
            start = m.start()
        run.append(word)
    if run:
        out.append((run, start))
    return out


def subheadings(body: str) -> list[tuple[int, int]]:
    """Character spans of the body's short lines that do not end like a sentence."""
    return [
        m.span()
        for m in _LINE.finditer(body)
        if m.group().strip()
        and len(m.group().split()) < _SUBHEADING_WORDS
        and not _FINAL_PUNCT.search(m.group())
    ]


def keywords(body: str, blocked: Sequence[tuple[int, int]], limit: int = 10) -> list[str]:
    """Top phrases (up to three words) of the prose, by repetition, word frequency, length and earliness.

    ``blocked`` spans (entity mentions) and subheading lines never contribute words.
    """
    runs = _runs(body, [*blocked, *subheadings(body)])
    freq: Counter[str] = Counter(w for run, _ in runs for w in run)
    count: Counter[tuple[str, ...]] = Counter()
    first: dict[tuple[str, ...], int] = {}
    for run, pos in runs:
        for n in range(1, min(_MAX_WORDS, len(run)) + 1):
            for i in range(len(run) - n + 1):
                phrase = tuple(run[i : i + n])
                count[phrase] += 1
                first.setdefault(phrase, pos)
    size = max(len(body), 1)
    scores: dict[tuple[str, ...], float] = {}
    for phrase, n in count.items():
        # Single words need repetition to count as key; phrases carry more meaning per mention.
        if len(phrase) == 1 and n < 3:
            continue
        mean_freq = sum(freq[w] for w in phrase) / len(phrase)
        length = 0.3 if len(phrase) == 1 else 1.0 + 0.2 * (len(phrase) - 2)
        scores[phrase] = math.sqrt(n * mean_freq) * length * (1.5 - first[phrase] / size)
    ranked = sorted(scores, key=lambda p: (-scores[p], first[p]))
    chosen: list[str] = []
    for phrase in ranked:
        text = " ".join(phrase)
        # A phrase overlapping one already chosen adds nothing for a reader.
        if any(text in c or c in text for c in chosen):
            continue
        chosen.append(text)
        if len(chosen) == limit:
            break
    return chosen
