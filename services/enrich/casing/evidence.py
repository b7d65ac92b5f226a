"""How the text's own prose writes its words: in lower case, in capitals, capitalised, in phrases."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from spacy.lang.en.stop_words import STOP_WORDS

from services.enrich.casing.tokens import MAX_PHRASE, WORD, initial
from services.enrich.geo import fold
from services.enrich.names import lower


@dataclass(slots=True)
class Evidence:
    """How words are written in the prose of the text."""

    lower: Counter[str] = field(default_factory=Counter)
    caps: Counter[str] = field(default_factory=Counter)
    cased: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    weak: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    phrases: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def add(self, line: str, start: int = 0, end: int | None = None) -> None:
        run: list[re.Match[str]] = []
        for m in WORD.finditer(line, start, len(line) if end is None else end):
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
            if len(run) > 1 or not initial(line, m.start()):
                self.cased[fold(w)][w] += 1
            else:
                self.weak[fold(w)][w] += 1
        for size in range(2, MAX_PHRASE + 1):
            for i in range(len(words) - size + 1):
                part = tuple(words[i : i + size])
                if not any(w.isupper() and len(w) > 1 for w in part):  # capitals are no prose spelling
                    self.phrases.setdefault(tuple(fold(w) for w in part), part)
