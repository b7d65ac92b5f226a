"""The enricher: composes language, NER, linking, keywords, topics and summary over a batch."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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
from services.enrich.names import NAME_PARTICLES, REPORTING_VERBS, word_set
from services.enrich.resolve import Resolver
from services.enrich.summary import summarize
from services.enrich.textutil import word_count
from services.enrich.topics import TAXONOMY_ID, TopicModel

ENRICHER_VERSION = "1.4.0"
_WORDS_PER_MINUTE = 230
_MAX_TAG_ENTITIES = 5
_MIN_TAG_SALIENCE = 0.35
# NER cost grows with length; beyond this the tail of a very long body is not analysed.
MAX_NER_CHARS = 100_000
# No real name is longer; a longer span is a run of capitalised words (tables, lists of companies).
MAX_ENTITY_NAME = 200
# The store keeps entity names, tags and topic labels, and their case-folded keys, in String(300)
# columns, and the language in String(16) (services/store/db/tables.py). Case folding can lengthen a
# name ("ß" -> "ss"), so the folded form is checked too.
STORE_KEY = 300
MAX_LANGUAGE = 16
T = TypeVar("T")
_NEXT_WORD = re.compile(r"[ \t]*([^\W\d_]+)?")
_CALENDAR = word_set(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july"
    " august september october november december"
)
# Verbs of market reports that follow a company's name ("McDonald's rose 2%").
_MARKET_VERBS = word_set("rose fell gained lost jumped dropped slipped climbed slumped posted reported")


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
            None if ms is None else self._step("ner", s, partial(_from_body, body, ms, r.cues))
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


def _from_body(
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
