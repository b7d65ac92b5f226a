"""Writes and reads of stored articles; keyword-only arguments, plain SQLAlchemy Core.

Listing and search live in ``queries``, counts in ``aggregates``; their public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts import EnrichedArticle, Entity
from services.store import counts
from services.store.cursors import decode_cursor, encode_cursor, utc
from services.store.errors import BadCursor, BadFilter, BadSearch, QueryError
from services.store.queries import ArticleQuery, _doc, list_articles
from services.store.tables import article_entities, article_tags, article_topics, articles
from services.taxonomy import taxonomy

__all__ = [
    "ArticleQuery",
    "BadCursor",
    "BadFilter",
    "BadSearch",
    "QueryError",
    "decode_cursor",
    "encode_cursor",
    "get_article",
    "list_articles",
    "upsert_articles",
]

_CHUNK = 500  # ids per IN list; keeps every statement under both engines' parameter limits
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _row(article: EnrichedArticle) -> dict[str, Any]:
    published = utc(article.published_at)
    received = utc(article.received_at)
    return {
        "id": article.id,
        "sort_time": published or received,
        "published_at": published,
        "received_at": received,
        "enriched_at": utc(article.enriched_at),
        "source": article.source,
        "language": article.language,
        "title": article.title,
        "doc": article.model_dump(mode="json"),
    }


async def upsert_articles(conn: AsyncConnection, *, batch: Sequence[EnrichedArticle]) -> list[str]:
    """Insert new articles and replace older enrichments; return the ids whose row was written."""
    latest: dict[str, EnrichedArticle] = {}
    for article in batch:  # a batch may hold two enrichments of one article: keep the newer
        kept = latest.get(article.id)
        if kept is None or article.enriched_at > kept.enriched_at:
            latest[article.id] = article
    if not latest:
        return []
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(articles)
    upsert = stmt.on_conflict_do_update(
        index_elements=[articles.c.id],
        set_={c.name: stmt.excluded[c.name] for c in articles.c if c.name != "id"},
        where=stmt.excluded.enriched_at > articles.c.enriched_at,  # never let an older enrichment win
    ).returning(articles.c.id)
    existing: set[str] = set()
    for part in _chunks(list(latest)):
        existing.update(
            (await conn.execute(sa.select(articles.c.id).where(articles.c.id.in_(part)))).scalars()
        )
    rows = [_row(a) for a in latest.values()]
    changed = set((await conn.execute(upsert, rows)).scalars()) if len(rows) > 1 else set()
    if len(rows) == 1:  # one row: a single statement, since executemany needs two
        changed = set((await conn.execute(upsert.values(rows[0]))).scalars())
    written = [i for i in latest if i in changed]
    if written:
        times = {r["id"]: r["sort_time"] for r in rows}
        stale = [i for i in written if i in existing]  # only rewritten articles have lookup rows to drop
        await _replace_lookups(conn, [latest[i] for i in written], stale, times)
    return written


async def _replace_lookups(
    conn: AsyncConnection, written: list[EnrichedArticle], stale: list[str], times: dict[str, datetime]
) -> None:
    """Write the lookup rows of written articles, after dropping those of their older enrichment."""
    tally = counts.Tally()
    for part in _chunks(stale):
        await counts.tally_dropped(conn, article_ids=part, tally=tally)
        for table in (article_entities, article_tags, article_topics):
            await conn.execute(sa.delete(table).where(table.c.article_id.in_(part)))
    entities = [
        {
            "article_id": a.id,
            "name": e.name,
            "type": e.type,
            "mentions": e.count,
            "salience": e.salience,
            "sort_time": times[a.id],
            "name_key": e.name.casefold(),
        }
        for a in written
        for e in _dedupe_entities(a)
    ]
    tags = [
        {"article_id": a.id, "tag": t, "sort_time": times[a.id], "tag_key": t.casefold()}
        for a in written
        for t in dict.fromkeys(a.tags)
    ]
    topics = [
        {
            "article_id": a.id,
            "code": t.code,
            "label": t.label,
            "score": t.score,
            "direct": t.direct,
            "sort_time": times[a.id],
        }
        for a in written
        for t in taxonomy().roll_up((x.code, x.label, x.score) for x in a.topics)
    ]
    for table, values in ((article_entities, entities), (article_tags, tags), (article_topics, topics)):
        if values:
            await conn.execute(sa.insert(table), values)
    tally.add(entities=entities, tags=tags, topics=topics)
    await counts.apply(conn, tally=tally)  # last: counter rows stay locked only until the commit


def _dedupe_entities(article: EnrichedArticle) -> list[Entity]:
    seen: dict[tuple[str, str], Entity] = {}
    for entity in article.entities:
        seen.setdefault((entity.name, entity.type), entity)
    return list(seen.values())


async def get_article(conn: AsyncConnection, *, article_id: str) -> dict[str, Any] | None:
    """Return one stored article as its JSON document."""
    doc = (
        await conn.execute(sa.select(articles.c.doc).where(articles.c.id == article_id))
    ).scalar_one_or_none()
    return _doc(doc) if doc is not None else None
