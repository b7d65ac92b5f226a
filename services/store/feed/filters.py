"""Pure parts of the live feed: entry decoding and the article filter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from services.contracts import EnrichedArticle
from services.errors import MalformedEntry
from services.runtime import codec, ids
from services.store.db import search, terms
from services.store.filters import ArticleFilter
from services.taxonomy import taxonomy

log = logging.getLogger(__name__)

Ancestors = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class FeedEvent:
    """One enriched article of the stream, decoded once and serialised once for every client."""

    entry_id: str
    key: ids.EntryId
    article: EnrichedArticle
    data: str


def decode_event(entry_id: Any, fields: Any) -> FeedEvent | None:
    """Decode one entry of the enriched stream; log and skip it when it cannot be read."""
    key = ids.parse(entry_id)
    try:
        article = codec.decode(fields, EnrichedArticle).body
    except MalformedEntry as exc:
        log.warning("feed skips entry %s: %s", key, exc)
        return None
    return FeedEvent(str(key), key, article, article.model_dump_json())


def no_ancestors(_code: str) -> Iterable[str]:
    """Know no topic hierarchy: a topic filter then matches its exact code only."""
    return ()


def topic_ancestors() -> Ancestors:
    """The IPTC parent chain of a topic code, nearest first, from the shipped taxonomy."""
    return taxonomy().ancestors


@lru_cache(maxsize=64)  # every feed client with q asks about the same article in turn
def _indexed_fields(title: str, summary: str, body: str) -> tuple[str, ...]:
    """The terms the store indexes, one string per field: a phrase never spans two fields."""
    return tuple(f" {text} " for text in terms.index(title, summary, body).fts5_columns())


def _text_holds(query: search.TextQuery, article: EnrichedArticle) -> bool:
    fields = _indexed_fields(article.title, article.summary or "", article.body)

    def found(phrase: search.Phrase) -> bool:
        needle = " " + " ".join(phrase.words) + " "
        return any(needle in field for field in fields)

    return any(all(found(p) != p.negated for p in group) for group in query.groups)


def matches(article: EnrichedArticle, flt: ArticleFilter, ancestors: Ancestors = no_ancestors) -> bool:
    """Say whether the article passes every filter of ``flt``.

    As in the article list: ``entity_type`` with ``entity`` is the type each named entity must have, and
    alone any entity of that type; ``since`` (inclusive) and ``until`` (exclusive) bound the published
    time, else the received time; ``topic`` also matches the topics below it (``ancestors`` names the
    broader topics of a code); ``q`` takes words, "phrases", -exclusions and OR, and matches the terms
    the store's full-text index holds (``services.store.db.terms``), so it finds what a search finds.
    """
    if flt.source is not None and article.source != flt.source:
        return False
    if flt.language is not None and article.language != flt.language:
        return False
    if flt.since is not None or flt.until is not None:
        when = article.published_at or article.received_at
        if when is None or (flt.since is not None and when < flt.since):
            return False
        if flt.until is not None and when >= flt.until:
            return False
    if flt.tags and not set(flt.tags) <= set(article.tags):
        return False
    typed = {(e.name, e.type) for e in article.entities}
    for name in flt.entities:
        if not any(n == name and (flt.entity_type in (None, t)) for n, t in typed):
            return False
    if flt.entity_type is not None and not flt.entities and flt.entity_type not in {t for _, t in typed}:
        return False
    if flt.topics:
        covered = {t.code for t in article.topics}
        covered.update(a for t in article.topics for a in ancestors(t.code))
        if not set(flt.topics) <= covered:
            return False
    return flt.text is None or _text_holds(flt.text, article)
