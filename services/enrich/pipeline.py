"""The enricher: composes language, NER, linking, keywords, topics and summary over a batch."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from services.contracts import MAX_TAG, MAX_TAGS, EnrichedArticle, Enrichment, Entity, RawArticle, Topic
from services.enrich import casing, geo, linking, ner
from services.enrich.keywords import keywords
from services.enrich.language import MODEL_ID as LANGUAGE_MODEL
from services.enrich.language import LanguageDetector, Verdict
from services.enrich.mentions import from_body
from services.enrich.names import word_set
from services.enrich.ner import MAX_NER_CHARS
from services.enrich.resolve import Resolver
from services.enrich.summary import summarize
from services.enrich.textutil import word_count
from services.enrich.topics import TAXONOMY_ID, TopicModel

ENRICHER_VERSION = "1.4.0"
_WORDS_PER_MINUTE = 230
_MAX_TAG_ENTITIES = 5
_MIN_TAG_SALIENCE = 0.35
# No real name is longer; a longer span is a run of capitalised words (tables, lists of companies).
MAX_ENTITY_NAME = 200
# The store keeps entity names, tags and topic labels, and their case-folded keys, in String(300)
# columns, and the language in String(16) (services/store/db/tables.py). Case folding can lengthen a
# name ("ß" -> "ss"), so the folded form is checked too.
STORE_KEY = 300
MAX_LANGUAGE = 16
T = TypeVar("T")
_CALENDAR = word_set(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july"
    " august september october november december"
)


class Enricher:
    """Loads the models once and enriches batches of raw articles."""

    def __init__(self, *, model: str = ner.DEFAULT_MODEL, batch_size: int = 32) -> None:
        self._nlp = ner.load_model(model)
        self._lexicon = casing.lexicon(self._nlp.path)
        self._batch_size = batch_size
        self._resolve = Resolver(geo.gazetteer())
        self._topics = TopicModel()
        self._language = LanguageDetector()
        self._models = {
            "ner": ner.model_id(self._nlp),
            "language": LANGUAGE_MODEL,
            "topics": TAXONOMY_ID,
            "keywords": "rake-style-1",
        }
        self.timings: dict[str, float] = defaultdict(float)

    def enrich(self, articles: Sequence[RawArticle]) -> list[EnrichedArticle]:
        """Enrich articles in order; a step that cannot run is recorded in ``enrichment.skipped``."""
        skipped: list[dict[str, str]] = [{} for _ in articles]
        verdicts = [
            self._step("language", s, partial(self._language.detect, a.body, a.language))
            or Verdict("en", 0.0, "default")
            for a, s in zip(articles, skipped, strict=True)
        ]
        english = [i for i, v in enumerate(verdicts) if v.english]
        for i, v in enumerate(verdicts):
            if not v.english:
                reason = f"language is {v.code} ({v.source}, {v.score:.2f}); English-only step"
                skipped[i].update({"ner": reason, "keywords": reason, "topics": reason})
        mentions = self._ner([articles[i].body for i in english], [skipped[i] for i in english])
        found: dict[int, _Read | None] = dict(zip(english, mentions, strict=True))
        return [self._assemble(a, verdicts[i], found.get(i), skipped[i]) for i, a in enumerate(articles)]

    def _ner(self, bodies: list[str], skipped: list[dict[str, str]]) -> list[_Read | None]:
        for body, s in zip(bodies, skipped, strict=True):
            if len(body) > MAX_NER_CHARS:
                s["ner.tail"] = f"body longer than {MAX_NER_CHARS} characters; the rest was not analysed"
        recased = [
            self._step("ner", s, partial(casing.recase, b[:MAX_NER_CHARS], self._lexicon))
            or casing.Recased(b[:MAX_NER_CHARS])
            for b, s in zip(bodies, skipped, strict=True)
        ]
        texts = [r.text for r in recased]
        start = time.perf_counter()
        try:
            out: list[list[ner.RawMention] | None] = list(
                ner.pipe_mentions(self._nlp, texts, self._batch_size)
            )
        except Exception:  # one bad text must not sink the batch: retry one by one
            out = [
                self._step("ner", s, partial(_single, self._nlp, t))
                for t, s in zip(texts, skipped, strict=True)
            ]
        self.timings["ner"] += time.perf_counter() - start
        # Mapping back to the body is part of the step: a failure there loses this article's entities,
        # not the batch.
        found = [
            None if ms is None else self._step("ner", s, partial(from_body, body, ms, r.cues))
            for body, ms, r, s in zip(bodies, out, recased, skipped, strict=True)
        ]
        return [None if f is None else _Read(f, r.spellings) for f, r in zip(found, recased, strict=True)]

    def _link(self, read: _Read, body: str) -> list[linking.Group]:
        groups = linking.link(read.mentions, self._resolve, read.spellings)
        credits = [d.credit for d in casing.datelines(body[:MAX_NER_CHARS]) if d.credit is not None]
        # The sweep reads the analysed part of the body; an agency credit stays no mention.
        text = body[:MAX_NER_CHARS]
        for s, e in credits:
            text = text[:s] + " " * (e - s) + text[e:]
        linking.complete(groups, text, self._common)
        return groups

    def _common(self, word: str) -> bool:
        # A word English uses ("Will", "May", "Bush"): found again it would often be that word. The
        # lemma tables also hold some places ("odesa"), which the gazetteer knows as names.
        if word in STOP_WORDS or word in _CALENDAR or not self._lexicon:
            return True
        return bool(self._lexicon.pos(word)) and geo.gazetteer().place(word.capitalize()) is None

    def _step(self, name: str, skipped: dict[str, str], fn: Callable[[], T]) -> T | None:
        start = time.perf_counter()
        try:
            return fn()
        except Exception as exc:  # degrade, never crash the batch
            skipped[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
            return None
        finally:
            self.timings[name] += time.perf_counter() - start

    def _assemble(
        self,
        article: RawArticle,
        verdict: Verdict,
        read: _Read | None,
        skipped: dict[str, str],
    ) -> EnrichedArticle:
        body, title = article.body, article.title
        entities: list[Entity] = []
        if read is not None:
            entities = (
                self._step(
                    "linking",
                    skipped,
                    lambda: linking.to_entities(self._link(read, body), body, title),
                )
                or []
            )
            entities = [e for e in entities if _fits(e.name, MAX_ENTITY_NAME)]
        topics: list[Topic] = []
        phrases: list[str] = []
        if verdict.english:
            spans = [(m.start, m.end) for e in entities for m in e.mentions]
            phrases = self._step("keywords", skipped, lambda: keywords(body, spans)) or []
            topics = self._step("topics", skipped, lambda: self._topics.topics(title, body, entities)) or []
            topics = [t for t in topics if _fits(t.label, STORE_KEY)]
        summary = self._step("summary", skipped, lambda: summarize(body)) or ""
        words = word_count(body)
        return EnrichedArticle(
            **article.model_dump(exclude={"tags", "language"}),
            language=verdict.code[:MAX_LANGUAGE],
            entities=entities,
            topics=topics,
            keywords=phrases,
            summary=summary,
            tags=_tags(
                article.tags, [t for t in topics if self._topics.concepts[t.code].level <= 2], entities
            ),
            word_count=words,
            reading_time_s=round(words * 60 / _WORDS_PER_MINUTE),
            enrichment=Enrichment(version=ENRICHER_VERSION, models=dict(self._models), skipped=skipped),
            enriched_at=datetime.now(UTC),
        )


@dataclass(frozen=True, slots=True)
class _Read:
    """What NER read in one body: mentions with offsets into the body, and the prose spelling of words."""

    mentions: list[ner.RawMention]
    spellings: Mapping[str, str]


def _single(nlp: Language, text: str) -> list[ner.RawMention]:
    return next(ner.pipe_mentions(nlp, [text], 1))


def _fits(text: str, limit: int) -> bool:
    """Whether a name fits a limit in characters, and its case-folded key fits the store's key column."""
    return len(text) <= limit and len(text.casefold()) <= STORE_KEY


def _tags(source: Sequence[str], topics: Sequence[Topic], entities: Sequence[Entity]) -> list[str]:
    """Source tags, all kept; then broad topic labels and salient entity names while there is room.

    The result respects the contract's limits (at most MAX_TAGS tags of at most MAX_TAG characters):
    a derived tag that is too long is skipped, and none is added once MAX_TAGS are there. A derived
    tag equal to one already present but for letter case is not repeated.
    """
    # Nationalities ("Russian") are not what users filter on: their country is an entity of its own.
    named = [e for e in entities if not (e.type == "MISC" and e.country)]
    fitting = [e.name for e in named if e.salience >= _MIN_TAG_SALIENCE and _fits(e.name, MAX_TAG)]
    labels = [t.label for t in topics[:2]]
    tags = list(source)
    seen = {t.casefold() for t in tags}
    for tag in [*labels, *fitting[:_MAX_TAG_ENTITIES]]:
        if len(tags) >= MAX_TAGS:
            break
        if _fits(tag, MAX_TAG) and tag.strip() == tag and tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags
