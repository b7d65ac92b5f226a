"""NER mentions found on the re-cased copy, as mentions of the body: dateline places and credits, the
cues of the copy, names cut after a particle, and organisations whose name ends in 's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from spacy.lang.en.stop_words import STOP_WORDS

from services.enrich import casing, geo, linking, ner
from services.enrich.names import NAME_PARTICLES, REPORTING_VERBS, word_set
from services.enrich.ner import MAX_NER_CHARS

_NEXT_WORD = re.compile(r"[ \t]*([^\W\d_]+)?")
# Verbs of market reports that follow a company's name ("McDonald's rose 2%").
_MARKET_VERBS = word_set("rose fell gained lost jumped dropped slipped climbed slumped posted reported")


def from_body(
    body: str, mentions: list[ner.RawMention], cues: Sequence[casing.Cue] = ()
) -> list[ner.RawMention]:
    # Mentions were found on the re-cased copy: their text comes from the body as given. A dateline's
    # agency credit ("MADRID (AP) —") names the source, not something in the story; its places are
    # places, whatever the model made of a capitalised word at the start of a line, in the country
    # the dateline names ("SAO PAULO, Brazil (AP) —"). A cue of the copy ("MICHEL BARNIER SAID")
    # stands for what the model read over the same words, or adds what it did not see.
    gaz = geo.gazetteer()
    lines = casing.datelines(body[:MAX_NER_CHARS])
    credits = [d.credit for d in lines if d.credit is not None]
    known: list[ner.RawMention] = []
    for d in lines:
        country = _stated_country(body, d.rest)
        for s, e in d.places:
            if d.certain or gaz.place(body[s:e]):
                known.append(ner.RawMention(s, e, body[s:e], "LOCATION", linking.DATELINE, country))
    known += [
        ner.RawMention(c.start, c.end, body[c.start : c.end], c.type, linking.CUE)
        for c in cues
        if c.strong and not (c.by_verb and _read_as_org(body, mentions, c))
    ]
    out: list[ner.RawMention] = []
    for m in _join_particles(body, mentions):
        if any(s <= m.start and m.end <= e for s, e in credits):
            continue
        if any(k.start < m.end and m.start < k.end for k in known):
            continue
        out.append(_possessive_name(body, replace(m, text=body[m.start : m.end])))
    for k in known:
        if not any(o.start < k.end and k.start < o.end for o in out):
            out.append(k)
    # A place or a name the cues point at, where the model saw nothing at all ("In KHARKIV,"), or
    # where it read one word after "in"/"from" as a person ("withdrew from AVDIIVKA").
    for c in cues:
        if c.strong:
            continue
        hit = [o for o in out if o.start < c.end and c.start < o.end]
        if hit and c.type == "LOCATION" and " " not in body[c.start : c.end]:
            hit = [o for o in hit if o.type != "PERSON" or (o.start, o.end) != (c.start, c.end)]
            out = [o for o in out if not (o.start < c.end and c.start < o.end) or o in hit]
        if not hit:
            out.append(ner.RawMention(c.start, c.end, body[c.start : c.end], c.type, "HINT"))
    return sorted(out, key=lambda m: m.start)


def _read_as_org(body: str, mentions: Sequence[ner.RawMention], cue: casing.Cue) -> bool:
    """Whether the model reads the words of a person cue as an organisation that the text never
    calls by its last word alone, as it would a person ("NORILSK NICKEL SAID", not "VOLODYMYR
    ZELENSKIY SAID ... Zelenskiy met")."""
    if cue.type != "PERSON" or not any(
        m.type == "ORG" and m.start <= cue.start and cue.end <= m.end for m in mentions
    ):
        return False
    words = body[cue.start : cue.end].split()
    full = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)
    inside = [m.span() for m in full.finditer(body)]
    alone = re.compile(r"(?<![\w'’-])" + re.escape(words[-1]) + r"(?![\w-])", re.IGNORECASE)
    return not any(
        body[m.start()].isupper() and not any(s <= m.start() < e for s, e in inside)
        for m in alone.finditer(body)
    )


def _join_particles(body: str, mentions: list[ner.RawMention]) -> list[ner.RawMention]:
    """A person's name the model cut after a particle ("Ursula von der" + "Leyen") is one name."""
    out: list[ner.RawMention] = []
    for m in mentions:
        prev = out[-1] if out else None
        last = body[prev.start : prev.end].rsplit(" ", 1)[-1] if prev is not None else ""
        if (
            prev is not None
            and prev.type == "PERSON"
            and last.islower()
            and last in NAME_PARTICLES
            and body[prev.end : m.start] == " "
            and body[m.start : m.start + 1].isupper()
        ):
            out[-1] = replace(prev, end=m.end, text=body[prev.start : m.end])
        else:
            out.append(m)
    return out


def _stated_country(body: str, rest: tuple[int, int] | None) -> str | None:
    # The comma part of a dateline: ", Brazil", ", Texas, March 3" (a state gives its country).
    if rest is None:
        return None
    first = body[rest[0] : rest[1]].strip(" ,").split(",")[0].strip()
    place = geo.gazetteer().place(first) if first else None
    return place.country if place is not None and place.kind != "city" else None


def _possessive_name(body: str, m: ner.RawMention) -> ner.RawMention:
    """An organisation whose name ends in 's ("McDonald's said", "at Sainsbury's."), not a possessive.

    The model's span stops before the 's; it belongs to the name when what follows is no noun: the end
    of a sentence, a function word or a verb of reporting or of the markets.
    """
    tail = body[m.end : m.end + 2]
    if m.type != "ORG" or tail.lower() not in ("'s", "’s") or body[m.end + 2 : m.end + 3].isalnum():
        return m
    after = _NEXT_WORD.match(body, m.end + 2)
    word = (after.group(1) or "").lower() if after is not None else ""
    nxt = body[after.end() : after.end() + 1] if after is not None else ""
    if word and word not in STOP_WORDS and word not in REPORTING_VERBS and word not in _MARKET_VERBS:
        return m
    if not word and (nxt.isalnum() or nxt in "$€£¥%"):  # "Apple's 5% stake", "Apple's $2 billion"
        return m
    return replace(m, end=m.end + 2, text=body[m.start : m.end + 2])
