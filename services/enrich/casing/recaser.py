"""Re-casing a text for NER: which lines and stretches change, and the prose spelling of their words."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from services.enrich.casing.cues import Cue, CueReader
from services.enrich.casing.dateline import line_dateline
from services.enrich.casing.detect import is_all_caps, is_title_case, quoted, short_runs, shouted_spans
from services.enrich.casing.evidence import Evidence
from services.enrich.casing.lemmas import Lexicon, default_lexicon
from services.enrich.casing.spelling import NAME, cased_like, place_phrases
from services.enrich.casing.tokens import LINE, MAX_PHRASE, WORD, initial
from services.enrich.geo import fold
from services.enrich.names import upper_initial


@dataclass(frozen=True, slots=True)
class Recased:
    """A text re-cased for NER, the cues read on the way, and the prose spelling of capitalised words
    (by case-folded word: "sanchez" -> "Sánchez")."""

    text: str
    cues: tuple[Cue, ...] = ()
    spellings: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class Recaser(CueReader):
    """Chooses the prose spelling of each shouted word of one text."""

    def span(
        self,
        line: str,
        ws: list[re.Match[str]],
        lo: int,
        hi: int,
        places: list[tuple[int, int]] | None = None,
        shout: bool = True,
    ) -> tuple[list[str], list[Cue]]:
        """Prose spellings of the words ``ws[lo:hi]`` of a line, and the cues they give.

        ``ws`` are all the words of the line (the context of the stretch); words inside ``places``
        name a dateline's place. ``shout``: the stretch is shouted text, re-cased word by word; otherwise
        it is a few words in capitals inside prose, re-cased only on evidence.
        """
        words = ws[lo:hi]
        texts = [m.group() for m in words]
        out: list[str | None] = [None] * len(words)
        kinds: list[str] = [""] * len(words)
        place_spans = places or []

        def adjacent(i: int) -> bool:
            return line[words[i].end() : words[i + 1].start()] == " "

        i = 0
        while i < len(words):
            for size in range(min(MAX_PHRASE, len(words) - i), 1, -1):
                if not all(adjacent(k) for k in range(i, i + size - 1)):
                    continue
                chunk = texts[i : i + size]
                folded = tuple(fold(t) for t in chunk)
                prose = self._ev.phrases.get(folded)
                forms = prose or place_phrases().get(folded)
                if forms is not None:
                    out[i : i + size] = [cased_like(f, t) for f, t in zip(forms, chunk, strict=True)]
                    kinds[i : i + size] = [NAME if prose else "place"] * size
                    i += size
                    break
            else:
                i += 1
        for i, m in enumerate(words):
            if out[i] is None and any(s <= m.start() < e for s, e in place_spans):
                first = any(s == m.start() for s, _ in place_spans)
                out[i] = self._place_word(texts[i], not first)
                kinds[i] = "place"
            elif not kinds[i]:
                kinds[i] = self._kind(texts[i])
        cues = self._places_after_prepositions(line, ws, lo, out, kinds)
        cues += self._name_runs(line, ws, lo, out, kinds, shout)
        for i, word in enumerate(texts):
            if out[i] is None:
                out[i] = self._word(word) if shout else self._quoted_word(word)
        result: list[str] = []
        for m, word, chosen in zip(words, texts, out, strict=True):
            new = chosen or word
            if new[:1].islower() and initial(line, m.start()):
                new = upper_initial(new)
            result.append(new if len(new) == len(word) else word)
        return result, cues


def restore_case(text: str, lex: Lexicon | None = None) -> str:
    """Return a same-length copy of ``text`` with headings, datelines and shouted text re-cased as prose."""
    return recase(text, lex).text


def recase(text: str, lex: Lexicon | None = None) -> Recased:
    """Re-case ``text`` for NER (same length), with the cues and prose spellings read on the way."""
    lexicon_ = default_lexicon() if lex is None else lex
    lines = [(m.start(), m.group()) for m in LINE.finditer(text)]
    shouted: dict[int, list[tuple[int, int]]] = {}
    places: dict[int, list[tuple[int, int]]] = {}
    dashes: list[tuple[int, int]] = []
    titled: set[int] = set()
    caps_lines: set[int] = set()
    ev = Evidence()
    for start, line in lines:
        if (dateline := line_dateline(line)) is not None and dateline.certain:
            places[start] = list(dateline.places)
        if dateline is not None and dateline.dash is not None:
            dashes.append((start + dateline.dash[0], start + dateline.dash[1]))
        if is_all_caps(line):
            shouted[start] = [(0, len(line))]
            caps_lines.add(start)
            continue
        if is_title_case(line, WORD.findall(line)):
            titled.add(start)
        if spans := shouted_spans(line, dateline):
            shouted[start] = spans
    if not shouted and not titled and not any(quoted(line) for start, line in lines):
        return Recased(text)
    for start, line in lines:
        if start in titled:
            continue
        pos = 0
        for s, e in shouted.get(start, []):
            ev.add(line, pos, s)
            pos = e
        ev.add(line, pos)
    recaser = Recaser(ev, lexicon_)
    chars = list(text)
    cues: list[Cue] = []
    for s, e in dashes:
        # The dash after a dateline ends it: the model reads "London — Fumio Kishida met" as two
        # places, "London . Fumio Kishida met" as a place and a person.
        chars[s:e] = "." + " " * (e - s - 1)
    for start, line in lines:
        spans = shouted.get(start, [])
        ws = list(WORD.finditer(line))
        recaser.new_line()
        if start in titled:
            for i, m in enumerate(ws):
                new = recaser.titled(m.group(), i == 0)
                inside = any(s <= m.start() < e for s, e in spans)
                if not inside and len(new) == len(m.group()):
                    chars[start + m.start() : start + m.end()] = new
        stretches = [
            (lo, hi, True)
            for s, e in spans
            if (lo := next((i for i, m in enumerate(ws) if m.start() >= s), len(ws)))
            < (hi := next((i for i, m in enumerate(ws) if m.start() >= e), len(ws)))
        ]
        if start not in caps_lines and start not in titled:
            stretches += [(lo, hi, False) for lo, hi in short_runs(line, ws, spans)]
        stretches.sort()  # in reading order: a place list runs on from its first place
        for lo, hi, shout in stretches:
            new_words, found = recaser.span(line, ws, lo, hi, places.get(start), shout)
            for m, new in zip(ws[lo:hi], new_words, strict=True):
                chars[start + m.start() : start + m.end()] = new
            cues.extend(replace(c, start=start + c.start, end=start + c.end) for c in found)
    return Recased("".join(chars), tuple(cues), MappingProxyType(recaser.spellings()))
