"""Group an article's mentions into entities: one canonical name and one type per real-world thing."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.contracts import Entity, EntityType, Mention
from services.enrich.ner import RawMention

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‐": "-", "‑": "-", "–": "-"})
# Order used to break ties in a type vote: the more specific reading wins.
_TYPE_RANK: dict[EntityType, int] = {"PERSON": 3, "LOCATION": 2, "ORG": 1, "MISC": 0}


def normalize(surface: str) -> str:
    """Canonical spelling of a surface form: straight quotes, single spaces."""
    return _SPACE.sub(" ", surface.translate(_QUOTES)).strip()


@dataclass(slots=True)
class Group:
    """Mentions gathered under one canonical name while linking."""

    name: str
    mentions: list[RawMention] = field(default_factory=list)
    votes: Counter[EntityType] = field(default_factory=Counter)
    country: str | None = None

    def best_type(self) -> EntityType:
        """The type most mentions agree on."""
        return max(self.votes, key=lambda t: (self.votes[t], _TYPE_RANK[t]))


Resolver = Callable[[str, EntityType], tuple[str, EntityType, str | None] | None]


def _vote_surfaces(mentions: Sequence[RawMention]) -> dict[str, EntityType]:
    # One surface form, one type: the article-level majority decides.
    votes: dict[str, Counter[EntityType]] = defaultdict(Counter)
    for m in mentions:
        votes[normalize(m.text)][m.type] += 1
    return {s: max(c, key=lambda t: (c[t], _TYPE_RANK[t])) for s, c in votes.items()}


def _person_heads(groups: dict[str, Group]) -> dict[str, str]:
    # A single name equal to the first or last word of a longer PERSON name refers to that person.
    heads: dict[str, list[str]] = defaultdict(list)
    for name, g in groups.items():
        words = name.split()
        if g.best_type() == "PERSON" and len(words) > 1:
            for w in {words[-1], words[0]}:
                heads[w].append(name)
    out: dict[str, str] = {}
    for word, names in heads.items():
        if word in groups and len(groups[word].name.split()) == 1:
            out[word] = max(names, key=lambda n: (len(groups[n].mentions), -groups[n].mentions[0].start))
    return out


def link(mentions: Sequence[RawMention], resolve: Resolver | None = None) -> list[Group]:
    """Group mentions by canonical name; surnames join full names, aliases join their canonical place."""
    surface_type = _vote_surfaces(mentions)
    groups: dict[str, Group] = {}
    for m in mentions:
        surface = normalize(m.text)
        etype = surface_type[surface]
        name, country = surface, None
        if resolve is not None and (hit := resolve(surface, etype)) is not None:
            name, etype, country = hit
        g = groups.setdefault(name, Group(name))
        g.mentions.append(m)
        g.votes[etype] += 1
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
