"""Group an article's mentions into entities: one canonical name and one type per real-world thing."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from services.contracts import Entity, EntityType, Mention
from services.enrich.geo import fold
from services.enrich.names import NAME_PARTICLES, PARTICLES, display_name, is_acronym, is_shouted, well_cased
from services.enrich.ner import RawMention

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‐": "-", "‑": "-", "–": "-"})
# Order used to break ties in a type vote: the more specific reading wins.
_TYPE_RANK: dict[EntityType, int] = {"PERSON": 3, "LOCATION": 2, "ORG": 1, "MISC": 0}
# Mentions whose type is known from the copy rather than read by the model: a dateline's place, a
# cue such as "... SAID" (services.enrich.casing.Cue). The most authoritative mentions of a name decide
# its type.
DATELINE, CUE = "DATELINE", "CUE"
_AUTHORITY = {DATELINE: 2, CUE: 1}
_POSSESSIVE = "'s"


def normalize(surface: str) -> str:
    """Canonical spelling of a surface form: composed accents, straight quotes, single spaces."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", surface).translate(_QUOTES)).strip()


@lru_cache(maxsize=1 << 16)
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
    # The type the copy gives (a dateline's place, a person before "SAID"), with its authority.
    known: tuple[int, EntityType] | None = None

    def best_type(self) -> EntityType:
        """The type the copy gives, else the type most mentions agree on."""
        return self.known[1] if self.known is not None else _vote(self.votes)

    def absorb(self, other: Group) -> None:
        """Take the mentions, votes, country and known type of another group of the same thing."""
        self.mentions.extend(other.mentions)
        self.votes.update(other.votes)
        self.country = self.country or other.country
        if other.known is not None and (self.known is None or other.known[0] > self.known[0]):
            self.known = other.known


Resolver = Callable[[str, EntityType], tuple[str, EntityType, str | None] | None]


def _vote(types: Counter[EntityType]) -> EntityType:
    return max(types, key=lambda t: (types[t], _TYPE_RANK[t]))


def spelling(forms: Sequence[str], etype: EntityType, words: Mapping[str, str] | None = None) -> str:
    """The best-cased spelling among the forms of one name, in order of appearance.

    A form written as it should be displayed ("Pedro Sánchez", "NATO", "McDonald") beats a shouted one
    ("PEDRO SÁNCHEZ"); then the most frequent, then the first. A name seen only in capitals is
    title-cased, except acronyms (and, but for people, single words of up to three letters: "AP"),
    and a shouted word the article's prose spells (``words``, by case-folded word) takes that spelling:
    "KEMAL KILIÇDAROĞLU" with "Kılıçdaroğlu" in the prose is "Kemal Kılıçdaroğlu".
    """
    short_upper = etype != "PERSON"
    counts = Counter(forms)
    first = {f: i for i, f in reversed(list(enumerate(forms)))}
    best = max(
        counts,
        key=lambda f: (well_cased(f, short_upper), any(c.isupper() for c in f), counts[f], -first[f]),
    )
    shown = display_name(best, short_upper)
    if not words or well_cased(best, short_upper):
        return shown
    out = []
    for shouted, word in zip(best.split(" "), shown.split(" "), strict=True):
        prose = words.get(fold(word)) if is_shouted(shouted) and not is_acronym(shouted) else None
        out.append(prose if prose is not None and fold(prose) == fold(word) else word)
    return " ".join(out)


def _person_heads(groups: dict[str, Group]) -> dict[str, str]:
    # A single name equal to a word of a longer PERSON name refers to that person, however either is
    # capitalised ("SÁNCHEZ" and "Pedro Sánchez", "Lula" and "Luiz Inácio Lula da Silva").
    heads: dict[str, list[str]] = defaultdict(list)
    for k, g in groups.items():
        words = k.split()
        if g.best_type() == "PERSON" and len(words) > 1:
            for w in set(words) - NAME_PARTICLES - PARTICLES:
                heads[w].append(k)
    out: dict[str, str] = {}
    for word, names in heads.items():
        # A word the text uses as a place ("MADRID", "Atletico Madrid") is not a surname.
        if word in groups and len(word.split()) == 1 and not _place(groups[word]):
            out[word] = max(names, key=lambda n: (len(groups[n].mentions), -groups[n].mentions[0].start))
    return out


def _place(g: Group) -> bool:
    return g.country is not None and g.best_type() == "LOCATION"


def _known(ms: Sequence[RawMention]) -> tuple[int, EntityType] | None:
    # The type the most authoritative mentions give, when some type comes from the copy.
    top = max(_AUTHORITY.get(m.label, 0) for m in ms)
    if not top:
        return None
    return top, _vote(Counter(m.type for m in ms if _AUTHORITY.get(m.label, 0) == top))


def link(
    mentions: Sequence[RawMention], resolve: Resolver | None = None, words: Mapping[str, str] | None = None
) -> list[Group]:
    """Group mentions by case-insensitive name; surnames join full names, aliases join their place.

    ``words`` are the prose spellings of capitalised words (see ``spelling``).
    """
    by_key: dict[str, list[RawMention]] = defaultdict(list)
    for m in mentions:
        k = key(m.text)
        if k not in NAME_PARTICLES:  # "Le" alone is no name
            by_key[k].append(m)
    # A name that ends in 's ("McDonald's said") is that name wherever the 's is read as a possessive.
    for k in [k for k in by_key if k.endswith(_POSSESSIVE) and k[: -len(_POSSESSIVE)] in by_key]:
        by_key[k].extend(by_key.pop(k[: -len(_POSSESSIVE)]))
    groups: dict[str, Group] = {}
    for ms in by_key.values():
        # One name, one type: the copy's own reading, else the article-level majority over every
        # capitalisation, decides.
        known = _known(ms)
        etype = known[1] if known is not None else _vote(Counter(m.type for m in ms))
        # A possessive read as part of the name ("SAINSBURY'S SAID") spells every mention of it.
        suffix = _POSSESSIVE if key(ms[0].text).endswith(_POSSESSIVE) else ""
        forms = [normalize(m.text) + ("" if key(m.text).endswith(suffix) else suffix) for m in ms]
        name, country = spelling(forms, etype, words), None
        if resolve is not None and (hit := resolve(name, etype)) is not None:
            name, resolved, country = hit
            # A place the copy gives keeps its type whatever the gazetteer says of the name.
            etype = resolved if known is None or resolved == etype else etype
        # A country the text states for this very mention ("SAN JOSE, Costa Rica") beats the gazetteer's.
        country = next((m.country for m in ms if m.country), country)
        found = Group(name, list(ms), Counter({etype: len(ms)}), country)
        if known is not None:
            found.known = (known[0], etype)
        g = groups.get(key(name))
        if g is None:
            groups[key(name)] = found
        else:
            g.name = spelling([g.name, name], etype, words) if g.name != name else g.name
            g.absorb(found)
    for short, full in _person_heads(groups).items():
        g = groups.pop(short)
        target = groups[full]
        target.mentions.extend(g.mentions)
        target.votes["PERSON"] += sum(g.votes.values())
    for g in groups.values():
        g.mentions.sort(key=lambda m: m.start)
    return list(groups.values())


_TOKEN = re.compile(r"[^\W\d_][\w'’-]*")
SWEPT = "SWEPT"


def complete(groups: Sequence[Group], text: str, common: Callable[[str], bool]) -> None:
    """Add the mentions the model missed: other capitalised occurrences of an entity's own names.

    "Zelenskiy met ..." after "VOLODYMYR ZELENSKIY SAID": each name a group was mentioned by, and each
    word of a person's name, is looked for in the text, however capitalised or accented ("SÁNCHEZ",
    "Sanchez"). A word English uses (``common``), a name of two groups and a stretch that is already
    a mention are left alone.
    """
    targets: dict[tuple[str, ...], Group | None] = {}

    def want(form: tuple[str, ...], g: Group) -> None:
        if not form or (
            len(form) == 1 and (len(form[0]) < 3 or common(form[0]) or form[0] in NAME_PARTICLES)
        ):
            return
        if targets.get(form, g) is not g:
            targets[form] = None  # two things go by this name: it names neither
        else:
            targets[form] = g

    for g in groups:
        for surface in {g.name, *(normalize(m.text) for m in g.mentions)}:
            want(tuple(key(w) for w in surface.split()), g)
        if g.best_type() == "PERSON" and len(g.name.split()) > 1:
            for word in g.name.split():
                if word.lower() not in PARTICLES:
                    want((key(word),), g)
    if not targets:
        return
    sizes: dict[str, set[int]] = defaultdict(set)  # first word of a name -> its lengths in words
    for form in targets:
        sizes[form[0]].add(len(form))
    taken = [(m.start, m.end) for g in groups for m in g.mentions]
    tokens = list(_TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        step = 1
        first = tokens[i].group()
        # Only a capitalised word starts a mention; a possessive ends one before its 's.
        lengths = set()
        if first[0].isupper():
            lengths = sizes.get(key(first), set()) | (
                sizes.get(key(first[:-2]), set()) if _possessive(first) else set()
            )
        for size in sorted((n for n in lengths if i + n <= len(tokens)), reverse=True):
            run = tokens[i : i + size]
            if any(text[a.end() : b.start()] != " " for a, b in pairwise(run)):
                continue
            whole = tuple(key(t.group()) for t in run)
            last = run[-1].group()
            form = whole if whole in targets or not _possessive(last) else (*whole[:-1], key(last[:-2]))
            hit = targets.get(form)
            start = run[0].start()
            end = run[-1].end() - (0 if form == whole else 2)
            if hit is None or any(a < end and start < b for a, b in taken):
                continue
            hit.mentions.append(RawMention(start, end, text[start:end], hit.best_type(), SWEPT))
            taken.append((start, end))
            step = size
            break
        i += step
    for g in groups:
        g.mentions.sort(key=lambda m: m.start)


def _possessive(word: str) -> bool:
    return len(word) > 3 and word[-2] in "'’" and word[-1] in "sS"


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
