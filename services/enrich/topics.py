"""IPTC Media Topics: lexical similarity to each concept's subtree profile, plus entity and context cues.

Three kinds of evidence meet in one score per concept:

* the article's words (headline weighted above the body) against TF-IDF profiles built from the IPTC
  labels and definitions of the concept and its descendants, and short lists of newsroom cue words;
* the article's organisations: names such as "... Inc", "... Software", "FIFA" or "... FC" point at
  business, computing or sport (``data/topic_entity_cues.tsv``);
* context: a story about a bill or a vote in parliament is politics even when it speaks of crime, so
  legislative words damp "crime, law and justice".

The best top level is chosen, then the best child is followed while it keeps a fair share of its
parent's score. "Computing and information technology", which IPTC files under economy > products and
services, competes with the top levels directly, as a newsroom's technology section does.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.contracts import Entity, Topic
from services.enrich.textutil import terms as _base_terms
from services.taxonomy import taxonomy as iptc

_DIR = Path(__file__).with_name("data")
_CUES = _DIR / "topic_cues.tsv"
_ENTITY_CUES = _DIR / "topic_entity_cues.tsv"
TAXONOMY_ID = "iptc-mediatopics-2023-03-31"
# Weights of the parts of a profile: a concept's own label says most, distant definitions least.
_OWN_LABEL, _OWN_DEF, _SUB_LABEL, _SUB_DEF = 3.0, 1.5, 1.0, 0.5
_CUE, _SUB_CUE = 3.0, 3.0
_TITLE = 2  # the headline counts as this many copies of itself
_MAX_LEVEL = 3
_DESCEND_SHARE = 0.5
# Newsroom sections that IPTC files deep in the tree ("computing and information technology" sits under
# economy > products and services): they compete with the top levels directly.
_SECTIONS = ("medtop:20000225",)
_RUNNER_UP_SHARE = 0.8
# Organisation evidence: a concept named by organisations covering this many mentions gets its branch
# scaled by 1 + this bonus.
_ENTITY_FULL, _ENTITY_BONUS = 3.0, 0.3
# Legislative context damps crime/law by this much per legislative word, down to the floor.
_CRIME = "medtop:02000000"
_DAMP_STEP, _DAMP_FLOOR = 0.1, 0.5
# Words with no topic of their own that IPTC definitions happen to use ("All Saints Day").
_NEUTRAL = frozenset(
    _base_terms(
        "day days week weeks month months year years time today yesterday tomorrow monday tuesday "
        "wednesday thursday friday saturday sunday said says told reported report new"
    )
)


# Phrases whose words would point at the wrong topic one by one ("rugby union" is not labour).
_PHRASES = {
    "rugby union": "rugby",
    "rugby league": "rugby",
    "european union": "eu",
    "soviet union": "soviet",
    "african union": "au",
    "trade union": "union",
    "video games": "videogames",
    "video game": "videogame",
    "computer games": "videogames",
    "computer game": "videogame",
}
_PHRASE = re.compile(r"\b(?:" + "|".join(sorted(_PHRASES, key=len, reverse=True)) + r")\b")


def terms(text: str) -> list[str]:
    """Topic terms: content terms with a final "e" dropped ("game"/"games", "service"/"services")."""
    text = _PHRASE.sub(lambda m: _PHRASES[m.group()], text.lower())
    return [t[:-1] if len(t) >= 4 and t.endswith("e") else t for t in _base_terms(text) if t not in _NEUTRAL]


_LEGISLATIVE = frozenset(
    terms(
        "parliament parliamentary mps lawmakers legislators legislature senate senators congress "
        "congressman commons lords peers bill bills legislation amendment amendments reading vote "
        "votes voted minister ministers"
    )
)


def _bag(title: str, body: str) -> Counter[str]:
    bag = Counter(terms(body))
    for t in terms(title):
        bag[t] += _TITLE
    return bag


@dataclass(frozen=True, slots=True)
class Concept:
    """One IPTC concept."""

    code: str
    level: int
    parent: str | None
    label: str
    definition: str
    cues: str = ""


@dataclass(frozen=True, slots=True)
class EntityRule:
    """Organisation names that point at a concept: by their last word, first word or any word."""

    code: str
    where: str
    words: frozenset[str]

    def matches(self, tokens: Sequence[str]) -> bool:
        """Whether the rule fires on the tokens of an organisation name."""
        if not tokens:
            return False
        if self.where == "last":
            return tokens[-1] in self.words
        if self.where == "first":
            return tokens[0] in self.words
        if any(w in self.words for w in tokens):
            return True
        name = f" {' '.join(tokens)} "
        return any(" " in w and f" {w} " in name for w in self.words)


def _rows(path: Path) -> Iterable[list[str]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


def load_taxonomy() -> dict[str, Concept]:
    """The IPTC concepts in force (services/taxonomy.py) with the newsroom cue words."""
    out = {n.code: Concept(n.code, n.level, n.parent, n.label, n.definition) for n in iptc().in_force()}
    for code, words in _rows(_CUES):
        if code in out:
            c = out[code]
            out[code] = Concept(c.code, c.level, c.parent, c.label, c.definition, words)
    return out


def _weigh(bag: dict[str, float], concept: Concept, weights: tuple[float, float, float]) -> None:
    """Add a concept's label, definition and cue words to a profile, each part with its weight."""
    for text, weight in zip((concept.label, concept.definition, concept.cues), weights, strict=True):
        for t in terms(text):
            bag[t] += weight


def load_entity_rules(path: Path = _ENTITY_CUES) -> list[EntityRule]:
    """Read the organisation-name cues (``qcode, last|first|any, comma-separated words``)."""
    return [
        EntityRule(code, where, frozenset(w.strip() for w in words.split(",") if w.strip()))
        for code, where, words in _rows(path)
    ]


class TopicModel:
    """TF-IDF vectors of concept subtrees; an article is scored against all of them at once."""

    def __init__(
        self, taxonomy: dict[str, Concept] | None = None, entity_rules: list[EntityRule] | None = None
    ) -> None:
        self.concepts = taxonomy or load_taxonomy()
        self.rules = load_entity_rules() if entity_rules is None else entity_rules
        children: dict[str, list[str]] = defaultdict(list)
        for c in self.concepts.values():
            if c.parent in self.concepts:
                children[c.parent].append(c.code)
        self.children = dict(children)
        self._top_levels = [c.code for c in self.concepts.values() if c.level == 1]
        raw = {code: self._profile(code) for code in self.concepts}
        df = Counter(t for bag in raw.values() for t in bag)
        n = len(raw)
        self.idf = {t: math.log((1 + n) / (1 + d)) + 1.0 for t, d in df.items()}
        self.index: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for code, bag in raw.items():
            vec = {t: w * self.idf[t] for t, w in bag.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for t, v in vec.items():
                self.index[t].append((code, v / norm))
        # Descendants down to the deepest level used: a branch is scaled as a whole.
        self._below = {code: self._descendants(code) for code in self.concepts}

    def _descendants(self, code: str) -> list[str]:
        out: list[str] = []
        stack = list(self.children.get(code, []))
        while stack:
            d = stack.pop()
            if self.concepts[d].level <= _MAX_LEVEL:
                out.append(d)
                stack.extend(self.children.get(d, []))
        return out

    def _profile(self, code: str) -> dict[str, float]:
        bag: dict[str, float] = defaultdict(float)
        _weigh(bag, self.concepts[code], (_OWN_LABEL, _OWN_DEF, _CUE))
        stack = list(self.children.get(code, []))
        while stack:
            d = self.concepts[stack.pop()]
            stack.extend(self.children.get(d.code, []))
            _weigh(bag, d, (_SUB_LABEL, _SUB_DEF, _SUB_CUE))
        return bag

    def _similarity(self, bag: Counter[str]) -> dict[str, float]:
        vec = {t: (1 + math.log(n)) * self.idf[t] for t, n in bag.items() if t in self.idf}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out: dict[str, float] = defaultdict(float)
        for t, v in vec.items():
            for code, w in self.index[t]:
                out[code] += v / norm * w
        return out

    def entity_evidence(self, entities: Sequence[Entity]) -> dict[str, float]:
        """Per concept, how strongly the article's organisations point at it (0..1)."""
        mentions: dict[str, float] = defaultdict(float)
        for e in entities:
            if e.type != "ORG":
                continue
            tokens = e.name.replace(".", "").split()
            for code in {r.code for r in self.rules if r.matches(tokens)}:
                mentions[code] += e.count
        return {code: min(1.0, n / _ENTITY_FULL) for code, n in mentions.items() if code in self.concepts}

    def ancestors(self, code: str) -> list[str]:
        """The concept's parents up to its top-level topic, nearest first."""
        chain = []
        parent = self.concepts[code].parent
        while parent in self.concepts:
            chain.append(parent)
            parent = self.concepts[parent].parent
        return chain

    def combined(self, title: str, body: str, entities: Sequence[Entity] = ()) -> dict[str, float]:
        """Lexical similarity with the organisation bonus and the legislative damping applied."""
        bag = _bag(title, body)
        s = self._similarity(bag)
        if not s:
            return s
        # Scaling a whole branch (the concept, its ancestors and descendants) keeps the ratios the
        # descent compares along that branch while it gains on the others.
        boost: dict[str, float] = defaultdict(lambda: 1.0)
        for code, strength in self.entity_evidence(entities).items():
            for c in {code, *self.ancestors(code), *self._below[code]}:
                boost[c] = max(boost[c], 1.0 + _ENTITY_BONUS * strength)
        for c, f in boost.items():
            if c in s:
                s[c] *= f
        legislative = sum(n for t, n in bag.items() if t in _LEGISLATIVE)
        if legislative and _CRIME in self.concepts:
            factor = max(_DAMP_FLOOR, 1.0 - _DAMP_STEP * legislative)
            for c in [_CRIME, *self._below[_CRIME]]:
                if c in s:
                    s[c] *= factor
        return s

    def topics(self, title: str, body: str, entities: Sequence[Entity] = (), limit: int = 5) -> list[Topic]:
        """Most specific confident topic first, then its ancestors, then the runner-up top level."""
        s = self.combined(title, body, entities)
        if not s:
            return []
        tops = sorted(self._top_levels, key=lambda code: -s.get(code, 0.0))
        path = [tops[0]]
        for code in _SECTIONS:
            if code in s and s[code] > s.get(tops[0], 0.0):
                path = [*reversed(self.ancestors(code)), code]
                tops = [path[0], *(t for t in tops if t != path[0])]
                break
        # Descend while the best child keeps a fair share of its parent's similarity.
        while (kids := self.children.get(path[-1])) and self.concepts[path[-1]].level < _MAX_LEVEL:
            best = max(kids, key=lambda k: s.get(k, 0.0))
            if s.get(best, 0.0) < _DESCEND_SHARE * s.get(path[-1], 0.0):
                break
            path.append(best)
        chosen = [*reversed(path), *(t for t in tops[1:2] if s.get(t, 0.0) >= _RUNNER_UP_SHARE * s[tops[0]])]
        return [self._topic(code, s) for code in chosen if s.get(code, 0.0) > 0][:limit]

    def _topic(self, code: str, s: dict[str, float]) -> Topic:
        return Topic(code=code, label=self.concepts[code].label, score=round(s.get(code, 0.0), 4))
