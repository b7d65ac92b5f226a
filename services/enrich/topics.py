"""IPTC Media Topics by lexical similarity between the article and each concept's subtree profile."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from services.contracts import Topic
from services.enrich.textutil import terms

_DATA = Path(__file__).with_name("data") / "iptc_mediatopics.tsv"
_CUES = Path(__file__).with_name("data") / "topic_cues.tsv"
TAXONOMY_ID = "iptc-mediatopics-2023-03-31"
# Weights of the parts of a profile: a concept's own label says most, distant definitions least.
_OWN_LABEL, _OWN_DEF, _SUB_LABEL, _SUB_DEF = 3.0, 1.5, 1.0, 0.5
_CUE, _SUB_CUE = 1.0, 1.0
_MAX_LEVEL = 3
_DESCEND_SHARE = 0.5
_RUNNER_UP_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Concept:
    """One IPTC concept."""

    code: str
    level: int
    parent: str | None
    label: str
    definition: str
    cues: str = ""


def load_taxonomy(path: Path = _DATA) -> dict[str, Concept]:
    """Read the shipped IPTC file (concepts in force only)."""
    out: dict[str, Concept] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, level, parent, label, definition = line.split("\t")
        out[code] = Concept(code, int(level), parent or None, label, definition)
    for line in _CUES.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, words = line.split("\t")
        if code in out:
            c = out[code]
            out[code] = Concept(c.code, c.level, c.parent, c.label, c.definition, words)
    return out


class TopicModel:
    """TF-IDF vectors of concept subtrees; an article is scored against all of them at once."""

    def __init__(self, taxonomy: dict[str, Concept] | None = None) -> None:
        self.concepts = taxonomy or load_taxonomy()
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

    def _profile(self, code: str) -> dict[str, float]:
        c = self.concepts[code]
        bag: dict[str, float] = defaultdict(float)
        for t in terms(c.label):
            bag[t] += _OWN_LABEL
        for t in terms(c.definition):
            bag[t] += _OWN_DEF
        for t in terms(c.cues):
            bag[t] += _CUE
        stack = list(self.children.get(code, []))
        while stack:
            d = self.concepts[stack.pop()]
            stack.extend(self.children.get(d.code, []))
            for t in terms(d.label):
                bag[t] += _SUB_LABEL
            for t in terms(d.definition):
                bag[t] += _SUB_DEF
            for t in terms(d.cues):
                bag[t] += _SUB_CUE
        return bag

    def scores(self, text: str) -> dict[str, float]:
        """Cosine similarity of the text with every concept profile."""
        tf = Counter(t for t in terms(text) if t in self.idf)
        vec = {t: (1 + math.log(n)) * self.idf[t] for t, n in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out: dict[str, float] = defaultdict(float)
        for t, v in vec.items():
            for code, w in self.index[t]:
                out[code] += v / norm * w
        return out

    def ancestors(self, code: str) -> list[str]:
        """The concept's parents up to its top-level topic, nearest first."""
        chain = []
        parent = self.concepts[code].parent
        while parent in self.concepts:
            chain.append(parent)
            parent = self.concepts[parent].parent
        return chain

    def topics(self, title: str, body: str, limit: int = 5) -> list[Topic]:
        """Most specific confident topic first, then its ancestors, then the runner-up top level."""
        s = self.scores(f"{title}\n{title}\n{body}")
        if not s:
            return []
        tops = sorted(self._top_levels, key=lambda code: -s.get(code, 0.0))
        path = [tops[0]]
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
