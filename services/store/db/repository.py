"""Writes and reads of stored articles; keyword-only arguments, plain SQLAlchemy Core.

Listing and search live in ``queries``, counts in ``aggregates``; their public names are re-exported here.
An article's search terms (``terms``) are written with it, in the same transaction: on PostgreSQL as the
row's tsvector columns, on SQLite as its row of the FTS5 table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts import EnrichedArticle, Entity
from services.store.db import counts, terms
from services.store.db.queries import ArticleQuery, article_of, list_articles
from services.store.db.tables import (
    article_entities,
    article_tags,
    article_topics,
    articles,
    articles_fts,
    fts_keys,
    pg_articles,
)
from services.taxonomy import taxonomy

__all__ = ["ArticleQuery", "get_article", "list_articles", "upsert_articles"]

_CHUNK = 500  # ids per IN list; keeps every statement under both engines' parameter limits
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _row(article: EnrichedArticle) -> dict[str, Any]:
    published, received = article.published_at, article.received_at  # UTC, as the contract keeps them
    return {
        "id": article.id,
        "sort_time": published or received,
        "published_at": published,
        "received_at": received,
        "enriched_at": article.enriched_at,
        "source": article.source,
        "language": article.language,
        "title": article.title,
        "doc": article.model_dump(mode="json"),
    }


def indexed(article: EnrichedArticle) -> terms.Indexed:
    """The search terms of an article's title, summary and body."""
    return terms.index(article.title, article.summary or "", article.body)


def search_vectors(found: terms.Indexed) -> dict[str, str]:
    """The PostgreSQL search columns of an article: every field, and title and summary for ranking."""
    search, head = found.tsvectors()
    return {"search": search, "search_head": head}


async def upsert_articles(conn: AsyncConnection, *, batch: Sequence[EnrichedArticle]) -> list[str]:
    """Insert new articles and replace older enrichments; return the ids whose row was written."""
    latest: dict[str, EnrichedArticle] = {}
    for article in batch:  # a batch may hold two enrichments of one article: keep the newer
        kept = latest.get(article.id)
        if kept is None or article.enriched_at > kept.enriched_at:
            latest[article.id] = article
    if not latest:
        return []
    pg = conn.dialect.name == "postgresql"
    table = pg_articles if pg else articles  # on PostgreSQL, with the search vectors
    stmt = (postgresql.insert if pg else sqlite.insert)(table)
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={c.name: stmt.excluded[c.name] for c in table.c if c.name != "id"},
        where=stmt.excluded.enriched_at > table.c.enriched_at,  # never let an older enrichment win
    ).returning(table.c.id)
    existing: set[str] = set()
    for part in _chunks(list(latest)):
        existing.update(
            (await conn.execute(sa.select(articles.c.id).where(articles.c.id.in_(part)))).scalars()
        )
    rows = [_row(a) | (search_vectors(indexed(a)) if pg else {}) for a in latest.values()]
    changed = set((await conn.execute(upsert, rows)).scalars()) if len(rows) > 1 else set()
    if len(rows) == 1:  # one row: a single statement, since executemany needs two
        changed = set((await conn.execute(upsert.values(rows[0]))).scalars())
    written = [i for i in latest if i in changed]
    if written:
        times = {r["id"]: r["sort_time"] for r in rows}
        stale = [i for i in written if i in existing]  # only rewritten articles have lookup rows to drop
        if not pg:
            await _write_fts(conn, [latest[i] for i in written], stale, times)
        await _replace_lookups(conn, [latest[i] for i in written], stale, times)
    return written


async def _write_fts(
    conn: AsyncConnection, written: list[EnrichedArticle], stale: list[str], times: dict[str, datetime]
) -> None:
    """Write the FTS5 rows of written articles (SQLite), replacing those of their older enrichment."""
    keys = sqlite.insert(fts_keys)
    upsert = keys.on_conflict_do_update(
        index_elements=[fts_keys.c.article_id], set_={"sort_time": keys.excluded.sort_time}
    ).returning(fts_keys.c.article_id, fts_keys.c.fts_rowid)
    values = [{"article_id": a.id, "sort_time": times[a.id]} for a in written]
    if len(values) == 1:  # one row: a single statement, since executemany needs two
        result = await conn.execute(upsert.values(values[0]))
    else:
        result = await conn.execute(upsert, values)
    rowids: dict[str, int] = {article_id: rowid for article_id, rowid in result}
    for part in _chunks(stale):
        old = [rowids[i] for i in part]
        await conn.execute(sa.delete(articles_fts).where(articles_fts.c.rowid.in_(old)))
    rows = []
    for article in written:
        title, summary, body = indexed(article).fts5_columns()
        rows.append({"rowid": rowids[article.id], "title": title, "summary": summary, "body": body})
    await conn.execute(sa.insert(articles_fts), rows)


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


async def get_article(conn: AsyncConnection, *, article_id: str) -> EnrichedArticle | None:
    """Return one stored article, or None when there is none with that id."""
    doc = (
        await conn.execute(sa.select(articles.c.doc).where(articles.c.id == article_id))
    ).scalar_one_or_none()
    return article_of(doc) if doc is not None else None
