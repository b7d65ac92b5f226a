"""Pure parts of the live feed: stream entry ids, entry decoding and the article filter."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, get_args

from services.contracts import EnrichedArticle, EntityType, decode_fields, parse_model
from services.store import search, terms
from services.store.errors import BadFilter
from services.taxonomy import is_topic_code, taxonomy

log = logging.getLogger(__name__)

Ancestors = Callable[[str], Iterable[str]]
EntryKey = tuple[int, int]
_ENTRY_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")


def parse_entry_id(value: str) -> EntryKey:
    """Read a stream entry id (``ms-seq`` or ``ms``); raise ValueError when it is not one."""
    found = _ENTRY_ID.match(value.strip())
    if found is None:
        raise ValueError(f"not a stream entry id: {value!r}")
    return int(found.group(1)), int(found.group(2) or 0)


def entry_key(value: Any) -> EntryKey:
    """Read the id of an entry as Redis returns it (bytes or text)."""
    return parse_entry_id(value.decode() if isinstance(value, bytes) else str(value))


def format_key(key: EntryKey) -> str:
    """Write an entry key back as a stream entry id."""
    return f"{key[0]}-{key[1]}"


@dataclass(frozen=True)
class FeedEvent:
    """One enriched article of the stream, decoded once and serialised once for every client."""

    entry_id: str
    key: EntryKey
    article: EnrichedArticle
    data: str


def decode_event(entry_id: Any, fields: Any) -> FeedEvent | None:
    """Decode one entry of the enriched stream; log and skip it when it cannot be read."""
    key = entry_key(entry_id)
    try:
        body, _headers = decode_fields(fields)
        article = parse_model(EnrichedArticle, body)
    except ValueError as exc:
        log.warning("feed skips entry %s: %s", format_key(key), exc)
        return None
    return FeedEvent(format_key(key), key, article, article.model_dump_json())


def no_ancestors(_code: str) -> Iterable[str]:
    """Know no topic hierarchy: a topic filter then matches its exact code only."""
    return ()


def topic_ancestors() -> Ancestors:
    """The IPTC parent chain of a topic code, nearest first, from the shipped taxonomy."""
    return taxonomy().ancestors


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class FeedFilter:
    """What a feed client asked for, with the meaning the filters of GET /v1/articles have."""

    entities: tuple[str, ...] = ()
    entity_type: str | None = None
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    language: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: search.TextQuery | None = None

    @classmethod
    def build(cls, *, q: str | None = None, **fields: Any) -> FeedFilter:
        """Validate the filters as the article list does; raise a QueryError naming the problem."""
        flt = cls(text=search.parse(q) if q is not None else None, **fields)
        if flt.entity_type is not None and flt.entity_type not in get_args(EntityType):
            raise BadFilter(f"entity_type must be one of {', '.join(get_args(EntityType))}")
        for code in flt.topics:
            if not is_topic_code(code):
                raise BadFilter(f"topic {code!r} is not an IPTC Media Topic code such as medtop:11000000")
        if flt.since is not None and flt.until is not None and flt.until < flt.since:
            raise BadFilter("until is before since: give a time range that runs forward")
        return flt

    def __post_init__(self) -> None:
        # Naive bounds are UTC, as for every time the pipeline stores.
        object.__setattr__(self, "since", _utc(self.since))
        object.__setattr__(self, "until", _utc(self.until))


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


def matches(article: EnrichedArticle, flt: FeedFilter, ancestors: Ancestors = no_ancestors) -> bool:
    """Say whether the article passes every filter of ``flt``.

    As in the article list: ``entity_type`` with ``entity`` is the type each named entity must have, and
    alone any entity of that type; ``since`` (inclusive) and ``until`` (exclusive) bound the published
    time, else the received time; ``topic`` also matches the topics below it (``ancestors`` names the
    broader topics of a code); ``q`` takes words, "phrases", -exclusions and OR, and matches the terms
    the store's full-text index holds (``services.store.terms``), so it finds what a search finds.
    """
    if flt.source is not None and article.source != flt.source:
        return False
    if flt.language is not None and article.language != flt.language:
        return False
    if flt.since is not None or flt.until is not None:
        when = _utc(article.published_at) or _utc(article.received_at)
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
