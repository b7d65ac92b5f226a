"""Which words are common English words: the lemma tables of the spaCy model, as a Lexicon."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from spacy.lookups import Lookups
from spacy.util import get_package_path

from services.enrich.names import lower
from services.enrich.ner import DEFAULT_MODEL

_POS = ("noun", "verb", "adj", "adv")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """English common words: the WordNet lemma tables that ship with the spaCy model's lemmatizer."""

    index: dict[str, frozenset[str]] = field(default_factory=dict)
    exceptions: dict[str, frozenset[str]] = field(default_factory=dict)
    rules: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.index)

    def pos(self, word: str) -> frozenset[str]:
        """Parts of speech a word form can have ("officials" -> noun); empty for an unknown word."""
        w = lower(word)
        found = set()
        for pos in _POS:
            lemmas = self.index.get(pos, frozenset())
            if w in lemmas or w in self.exceptions.get(pos, frozenset()):
                found.add(pos)
                continue
            for old, new in self.rules.get(pos, ()):
                if w.endswith(old) and len(w) > len(old) and w[: len(w) - len(old)] + new in lemmas:
                    found.add(pos)
                    break
        if not found and "-" in w:
            # "SKIING-WOMEN": a compound of known words is a common word too.
            parts = [p for p in w.split("-") if p]
            if parts and all(self.pos(p) for p in parts):
                return self.pos(parts[-1])
        return frozenset(found)


@cache
def lexicon(model_path: Path | None) -> Lexicon:
    """Load the lemmatizer tables of a spaCy model directory; an empty lexicon when they are absent."""
    path = None if model_path is None else model_path / "lemmatizer" / "lookups"
    if path is None or not (path / "lookups.bin").exists():
        return Lexicon()
    lookups = Lookups().from_disk(path)
    if not all(lookups.has_table(t) for t in ("lemma_index", "lemma_exc", "lemma_rules")):
        return Lexicon()
    index, exc, rules = (lookups.get_table(t) for t in ("lemma_index", "lemma_exc", "lemma_rules"))
    return Lexicon(
        index={p: frozenset(index.get(p, [])) for p in _POS},
        exceptions={p: frozenset(exc.get(p, {})) for p in _POS},
        rules={p: tuple((str(a), str(b)) for a, b in rules.get(p, [])) for p in _POS},
    )


@cache
def default_lexicon() -> Lexicon:
    """The lexicon of the default spaCy model, when it is installed."""
    try:
        root = get_package_path(DEFAULT_MODEL)
    except Exception:  # not installed: degrade to no lexicon
        return Lexicon()
    return lexicon(next((p for p in root.iterdir() if (p / "meta.json").exists()), None))
