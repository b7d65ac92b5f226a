"""Small builders of contract objects, so tests state only the fields they care about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from services.contracts import (
    ENRICHED_EVENT,
    RAW_EVENT,
    EnrichedArticle,
    Enrichment,
    Entity,
    EntityType,
    Mention,
    RawArticle,
)
from services.runtime import codec
from services.runtime.codec import DATA_FIELD

BASE_TIME = datetime(2024, 1, 15, 8, 7, tzinfo=UTC)
_serial = itertools.count(1)


def article_fields(**overrides: Any) -> dict[str, Any]:
    """The JSON object a client posts to ingest; each call gives a distinct title, so a distinct id."""
    n = next(_serial)
    fields: dict[str, Any] = {
        "title": f"Ministers meet in Geneva, round {n}",
        "body": f"Delegates met in Geneva on day {n} to discuss trade and climate policy.",
        "source": "wire",
        "tags": ["Diplomacy"],
    }
    fields.update(overrides)
    return fields


def entity(name: str, type_: EntityType = "PERSON", *, count: int = 1, salience: float = 0.5) -> Entity:
    """An entity with ``count`` mentions at made-up offsets."""
    mentions = [Mention(start=i * 10, end=i * 10 + len(name), text=name) for i in range(count)]
    return Entity(name=name, type=type_, count=count, mentions=mentions, salience=salience)


def raw_article(**overrides: Any) -> RawArticle:
    """An accepted article as it appears on ``<prefix>:raw``, with a unique id unless given one."""
    n = next(_serial)
    fields: dict[str, Any] = {
        "id": f"raw{n:013d}",
        "title": f"Harbour reopens after storm, part {n}",
        "body": f"The harbour reopened on day {n} after the storm passed.",
        "source": "wire",
        "received_at": BASE_TIME,
    }
    fields.update(overrides)
    return RawArticle.model_validate(fields)


def enriched_article(
    *, minutes: int | None = 0, enriched_after: timedelta = timedelta(minutes=5), **overrides: Any
) -> EnrichedArticle:
    """An enriched article published ``minutes`` after BASE_TIME (None: no published time).

    ``enriched_at`` defaults to ``enriched_after`` past the published time, so two enrichments of one
    article are ordered by passing different ``enriched_after`` values.
    """
    n = next(_serial)
    published = None if minutes is None else BASE_TIME + timedelta(minutes=minutes)
    fields: dict[str, Any] = {
        "id": f"enr{n:013d}",
        "title": f"Council votes on budget, item {n}",
        "body": f"The council voted on the budget on day {n}.",
        "source": "wire",
        "published_at": published,
        "received_at": BASE_TIME,
        "enriched_at": (published or BASE_TIME) + enriched_after,
        "language": "en",
        "entities": [],
        "tags": [],
        "enrichment": Enrichment(version="test-1", models={"ner": "test"}),
    }
    fields.update(overrides)
    return EnrichedArticle.model_validate(fields)


def raw_entry(article: RawArticle) -> dict[str, bytes]:
    """The field map ingest writes to ``<prefix>:raw`` for this article."""
    return {DATA_FIELD: codec.encode(article, event_type=RAW_EVENT, correlation_id=article.id)}


def enriched_entry(article: EnrichedArticle) -> dict[str, bytes]:
    """The field map enrich writes to ``<prefix>:enriched`` for this article."""
    return {DATA_FIELD: codec.encode(article, event_type=ENRICHED_EVENT, correlation_id=article.id)}
