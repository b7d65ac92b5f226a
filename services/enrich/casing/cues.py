"""Names and places read from the shape of a sentence in capitals: a person before "SAID" or after a
title, an organisation by its last word, a place after "in"; each reading is a Cue."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.contracts import EntityType
from services.enrich.casing.evidence import Evidence
from services.enrich.casing.lemmas import Lexicon
from services.enrich.casing.spelling import COMMON, IN_NAME, NAME, PARTICLE, Speller
from services.enrich.casing.tokens import MAX_PHRASE, possessive
from services.enrich.geo import gazetteer
from services.enrich.names import (
    PERSON_OBJECT_VERBS,
    PERSON_TITLES,
    REPORTING_VERBS,
    lower,
    title_word,
    word_set,
)

# Words after which capitals name a place ("In KHARKIV, rescuers ...").
_PLACE_PREPOSITIONS = frozenset({"in", "at", "from"})
# The last word of an organisation's name ("THE WORLD TRADE ORGANIZATION SAID").
_ORG_HEADS = word_set(
    """
    ministry council department agency commission committee parliament congress senate assembly bank
    university party court office bureau authority service corporation company association federation
    organization organisation institute foundation board cabinet government police army navy union
    league alliance fund group holdings airlines airways inc corp ltd plc
    """
)
_MAX_NAME_WORDS = 4


@dataclass(frozen=True, slots=True)
class Cue:
    """A stretch of the text whose type the shape of the copy gives: a person before "SAID", a place
    after "in". ``strong``: the stretch is that entity, whatever the model reads there; otherwise it
    only stands in for a stretch the model did not see at all."""

    start: int
    end: int
    type: EntityType
    strong: bool
    # Read from the verb around the words only ("... SAID", "MET ..."): an organisation the model
    # reads over the same words stays one, unless the text names the person by surname elsewhere.
    by_verb: bool = False


class CueReader(Speller):
    """Reads cues from runs of shouted words, one line at a time, naming the words it reads."""

    def __init__(self, ev: Evidence, lex: Lexicon) -> None:
        super().__init__(ev, lex)
        self._placed: set[int] = set()  # words of the current line that end a place cue

    def new_line(self) -> None:
        """Forget what was read on the previous line."""
        self._placed = set()

    def _places_after_prepositions(
        self, line: str, ws: list[re.Match[str]], lo: int, out: list[str | None], kinds: list[str]
    ) -> list[Cue]:
        # "In KHARKIV," / "POLICE IN GLASGOW ARRESTED": capitals after in/at/from name a place.
        cues: list[Cue] = []
        texts = [m.group() for m in ws]
        placed = self._placed
        for i in range(len(kinds)):
            k = lo + i
            if k == 0 or line[ws[k - 1].end() : ws[k].start()] != " ":
                continue
            # "in GENEVA and BERN": a place after "and"/"or" that follows a place continues the list.
            listed = (
                lower(texts[k - 1]) in ("and", "or")
                and k - 2 in placed
                and line[ws[k - 2].end() : ws[k - 1].start()] == " "
            )
            if (lower(texts[k - 1]) not in _PLACE_PREPOSITIONS and not listed) or kinds[i] in (
                "stop",
                "verb",
                "role",
                "fixed",
            ):
                continue
            if possessive(texts[k]) or (i > 0 and out[i] is not None and kinds[i - 1] == kinds[i] == "place"):
                continue
            run = [i]
            while (
                len(run) < MAX_PHRASE
                and run[-1] + 1 < len(kinds)
                and line[ws[lo + run[-1]].end() : ws[lo + run[-1] + 1].start()] == " "
                and kinds[run[-1] + 1] in (*IN_NAME, "place")
                and not possessive(texts[lo + run[-1]])
            ):
                run.append(run[-1] + 1)
            for size in range(len(run), 0, -1):
                part = run[:size]
                place = gazetteer().place(" ".join(texts[lo + j] for j in part))
                if place is not None and (size > 1 or self._place_like(texts[k], place.kind)):
                    if any(out[j] is None for j in part):
                        self._name(out, [texts[lo + j] for j in range(len(kinds))], part)
                    cues.append(Cue(ws[lo + part[0]].start(), ws[lo + part[-1]].end(), "LOCATION", True))
                    placed.add(lo + part[-1])
                    break
            else:
                # A name English does not know ("In KHAN YOUNIS,"); common words stay out of it.
                named = [j for j in run[:3] if kinds[j] in (NAME, PARTICLE) and out[j] is None]
                named = named[: next((n for n, j in enumerate(named) if j != named[0] + n), len(named))]
                if named and named[0] == i and kinds[i] == NAME:
                    self._name(out, [texts[lo + j] for j in range(len(kinds))], named)
                    cues.append(Cue(ws[lo + named[0]].start(), ws[lo + named[-1]].end(), "LOCATION", False))
                    placed.add(lo + named[-1])
        return cues

    def _name_runs(
        self,
        line: str,
        ws: list[re.Match[str]],
        lo: int,
        out: list[str | None],
        kinds: list[str],
        shout: bool,
    ) -> list[Cue]:
        # Runs of words that may form a name, typed by what stands around them.
        cues: list[Cue] = []
        texts = [m.group() for m in ws[lo : lo + len(kinds)]]

        def gap(k: int) -> str:  # between ws[k] and ws[k + 1]
            return line[ws[k].end() : ws[k + 1].start()]

        i = 0
        while i < len(kinds):
            if kinds[i] not in IN_NAME or out[i] is not None:
                i += 1
                continue
            j = i + 1
            while (
                j < len(kinds)
                and kinds[j] in IN_NAME
                and out[j] is None
                and gap(lo + j - 1) == " "
                and not possessive(texts[j - 1])
            ):
                j += 1
            cues += self._run(line, ws, lo, list(range(i, j)), out, kinds, shout)
            i = j
        return cues

    def _run(
        self,
        line: str,
        ws: list[re.Match[str]],
        lo: int,
        run: list[int],
        out: list[str | None],
        kinds: list[str],
        shout: bool,
    ) -> list[Cue]:
        texts = [m.group() for m in ws[lo : lo + len(kinds)]]
        first, last = lo + run[0], lo + run[-1]
        before = (
            ws[first - 1].group()
            if first > 0 and line[ws[first - 1].end() : ws[first].start()] == " "
            else ""
        )
        after = (
            ws[last + 1].group()
            if last + 1 < len(ws) and line[ws[last].end() : ws[last + 1].start()] == " "
            else ""
        )
        titled = lower(before) in PERSON_TITLES
        reports = lower(after) in REPORTING_VERBS and not possessive(texts[run[-1]])
        if lower(before) in PERSON_OBJECT_VERBS and not (titled or reports):
            # The object of "MET": a name when it ends in a word English does not know ("XI JINPING",
            # not "BUSINESS LEADERS" nor "VOLKSWAGEN WORKERS").
            part = _name_part(run, kinds)
            surname = len(part) >= 2 and (
                kinds[part[-1]] == NAME or (kinds[part[-2]] == NAME and self._plain_noun(texts[part[-1]]))
            )
            if surname:
                self._name(out, texts, part)
                end = ws[lo + part[-1]].end() - (2 if possessive(texts[part[-1]]) else 0)
                return [Cue(ws[lo + part[0]].start(), end, "PERSON", True, by_verb=True)]
        if titled or reports:
            # The subject of "... SAID" ends at the verb; a name after a title starts there.
            part = _name_part(run if titled else run[::-1], kinds)
            part = part if titled else part[::-1]
            if titled:  # a name after a title ends before a verb ("PRESIDENT XI JINPING ARRIVED")
                verb = next((n for n, k in enumerate(part) if n and self._verb_only(texts[k])), len(part))
                part = part[:verb]
            while len(part) > 1 and kinds[part[-1]] == PARTICLE:
                part = part[:-1]
            head = lower(texts[part[-1]].rstrip("'’Ss") if possessive(texts[part[-1]]) else texts[part[-1]])
            has_name = any(kinds[k] == NAME for k in part) or any(kinds[k] == PARTICLE for k in part[:-1])
            etype: EntityType | None = None
            if head in _ORG_HEADS and len(part) >= 2 and not titled and (has_name or len(part) >= 3):
                etype = "ORG"
            elif has_name and (len(part) >= 2 or titled):
                etype = "PERSON"
            if etype is not None or (has_name and reports and shout):
                self._name(out, texts, part)
            if etype is not None:
                end = ws[lo + part[-1]].end() - (2 if possessive(texts[part[-1]]) else 0)
                return [Cue(ws[lo + part[0]].start(), end, etype, True, by_verb=not titled)]
            return []
        # No cue: a particle makes a name of its neighbours ("CHARLES DE GAULLE"), and a word of one or
        # two letters next to a name is part of it ("XI JINPING").
        for n, k in enumerate(run):
            if kinds[k] == PARTICLE and n < len(run) - 1:
                part = run[max(0, n - 1) : n + 3]
                if any(kinds[x] != PARTICLE for x in part):
                    self._name(out, texts, [x for x in part if out[x] is None])
        for n, k in enumerate(run):
            short = sum(c.isalpha() for c in texts[k]) <= 2
            near = [run[x] for x in (n - 1, n + 1) if 0 <= x < len(run)]
            if out[k] is None and short and kinds[k] == COMMON and any(kinds[x] == NAME for x in near):
                out[k] = title_word(texts[k])
        return []


def _name_part(run: list[int], kinds: list[str]) -> list[int]:
    # The first words of a run that make one name: at most _MAX_NAME_WORDS besides particles.
    part: list[int] = []
    for k in run:
        if sum(kinds[x] != PARTICLE for x in [*part, k]) > _MAX_NAME_WORDS:
            break
        part.append(k)
    return part
