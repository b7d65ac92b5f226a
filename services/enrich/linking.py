"""Group an article's mentions into entities: one canonical name and one type per real-world thing."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.contracts import Entity, EntityType, Mention
from services.enrich.geo import fold
from services.enrich.names import display_name, well_cased
from services.enrich.ner import RawMention

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‐": "-", "‑": "-", "–": "-"})
# Order used to break ties in a type vote: the more specific reading wins.
_TYPE_RANK: dict[EntityType, int] = {"PERSON": 3, "LOCATION": 2, "ORG": 1, "MISC": 0}


def normalize(surface: str) -> str:
    """Canonical spelling of a surface form: composed accents, straight quotes, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", surface).translate(_QUOTES)).strip()


def key(surface: str) -> str:
    """The identity of a surface form whatever its case and accents: "MADRID", "Madrid", "SÁNCHEZ",
    "SANCHEZ" and "Sánchez" are one."""
    return fold(normalize(surface))


@dataclass(slots=True)
class Group:
    """Mentions gathered under one canonical name while linking."""

    name: str
    mentions: list[RawMention] = field(default_factory=list)
    votes: Counter[EntityType] = field(default_factory=Counter)
    country: str | None = None

    def best_type(self) -> EntityType:
        """The type most mentions agree on."""
        return _vote(self.votes)


Resolver = Callable[[str, EntityType], tuple[str, EntityType, str | None] | None]


def _vote(types: Counter[EntityType]) -> EntityType:
    return max(types, key=lambda t: (types[t], _TYPE_RANK[t]))


def spelling(forms: Sequence[str], etype: EntityType) -> str:
    """The best-cased spelling among the forms of one name, in order of appearance.

    A form written as it should be displayed ("Pedro Sánchez", "NATO", "McDonald") beats a shouted one
    ("PEDRO SÁNCHEZ"); then the most frequent, then the first. A name seen only in capitals is
    title-cased, except acronyms (and, but for people, single words of up to three letters: "AP").
    """
    short_upper = etype != "PERSON"
    counts = Counter(forms)
    first = {f: i for i, f in reversed(list(enumerate(forms)))}
    best = max(
        counts,
        key=lambda f: (well_cased(f, short_upper), any(c.isupper() for c in f), counts[f], -first[f]),
    )
    return display_name(best, short_upper)


def _person_heads(groups: dict[str, Group]) -> dict[str, str]:
    # A single name equal to the first or last word of a longer PERSON name refers to that person,
    # however either is capitalised ("SÁNCHEZ" and "Pedro Sánchez").
    heads: dict[str, list[str]] = defaultdict(list)
    for k, g in groups.items():
        words = k.split()
        if g.best_type() == "PERSON" and len(words) > 1:
            for w in {words[-1], words[0]}:
                heads[w].append(k)
    out: dict[str, str] = {}
    for word, names in heads.items():
        # A word the text uses as a place ("MADRID", "Atletico Madrid") is not a surname.
        if word in groups and len(word.split()) == 1 and not _place(groups[word]):
            out[word] = max(names, key=lambda n: (len(groups[n].mentions), -groups[n].mentions[0].start))
    return out


def _place(g: Group) -> bool:
    return g.country is not None and g.best_type() == "LOCATION"


def link(mentions: Sequence[RawMention], resolve: Resolver | None = None) -> list[Group]:
    """Group mentions by case-insensitive name; surnames join full names, aliases join their place."""
    by_key: dict[str, list[RawMention]] = defaultdict(list)
    for m in mentions:
        by_key[key(m.text)].append(m)
    groups: dict[str, Group] = {}
    for ms in by_key.values():
        # One name, one type: the article-level majority over every capitalisation decides.
        etype = _vote(Counter(m.type for m in ms))
        name, country = spelling([normalize(m.text) for m in ms], etype), None
        if resolve is not None and (hit := resolve(name, etype)) is not None:
            name, etype, country = hit
        g = groups.setdefault(key(name), Group(name))
        if g.name != name:
            g.name = spelling([g.name, name], etype)
        g.mentions.extend(ms)
        g.votes[etype] += len(ms)
        g.country = g.country or country
    for short, full in _person_heads(groups).items():
        g = groups.pop(short)
        target = groups[full]
        target.mentions.extend(g.mentions)
        target.votes["PERSON"] += sum(g.votes.values())
    for g in groups.values():
        g.mentions.sort(key=lambda m: m.start)
    return list(groups.values())


def salience(group: Group, text_len: int, title: str) -> float:
    """Score how central an entity is: mentions, earliness and presence in the title."""
    count = len(group.mentions)
    first = group.mentions[0].start / max(text_len, 1)
    in_title = 1.0 if _in_title(group, title) else 0.0
    return math.log1p(count) + (1.0 - first) * 0.75 + in_title


def _in_title(group: Group, title: str) -> bool:
    low = title.lower()
    names = {group.name} | {normalize(m.text) for m in group.mentions}
    return any(re.search(r"\b" + re.escape(n.lower()) + r"\b", low) for n in names)


def to_entities(groups: Sequence[Group], body: str, title: str, offset: int = 0) -> list[Entity]:
    """Build contract entities sorted by salience (scores scaled to 0..1)."""
    scored = [(salience(g, len(body), title), g) for g in groups]
    top = max((s for s, _ in scored), default=1.0) or 1.0
    entities = [
        Entity(
            name=g.name,
            type=g.best_type(),
            count=len(g.mentions),
            mentions=[Mention(start=m.start + offset, end=m.end + offset, text=m.text) for m in g.mentions],
            country=g.country,
            salience=round(s / top, 4),
        )
        for s, g in scored
    ]
    entities.sort(key=lambda e: (-e.salience, e.mentions[0].start))
    return entities
