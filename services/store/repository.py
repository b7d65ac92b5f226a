"""Reads and writes of stored articles; keyword-only arguments, plain SQLAlchemy Core."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.contracts import EnrichedArticle
from services.store.tables import article_entities, article_tags, articles


class BadCursor(ValueError):
    """A cursor that this store did not hand out."""


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(article: EnrichedArticle) -> dict[str, Any]:
    published = _utc(article.published_at)
    received = _utc(article.received_at)
    return {
        "id": article.id,
        "sort_time": published or received,
        "published_at": published,
        "received_at": received,
        "enriched_at": _utc(article.enriched_at),
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
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    written: list[str] = []
    for article in latest.values():
        row = _row(article)
        stmt = insert(articles).values(row)
        upsert = stmt.on_conflict_do_update(
            index_elements=[articles.c.id],
            set_={c: stmt.excluded[c] for c in row if c != "id"},
            where=stmt.excluded.enriched_at > articles.c.enriched_at,  # never let an older enrichment win
        ).returning(articles.c.id)
        if (await conn.execute(upsert)).first() is not None:
            written.append(article.id)
    if written:
        await conn.execute(sa.delete(article_entities).where(article_entities.c.article_id.in_(written)))
        await conn.execute(sa.delete(article_tags).where(article_tags.c.article_id.in_(written)))
        entity_rows = [
            {"article_id": a.id, "name": e.name, "type": e.type, "mentions": e.count, "salience": e.salience}
            for a in (latest[i] for i in written)
            for e in _dedupe_entities(a)
        ]
        tag_rows = [{"article_id": i, "tag": t} for i in written for t in dict.fromkeys(latest[i].tags)]
        if entity_rows:
            await conn.execute(sa.insert(article_entities), entity_rows)
        if tag_rows:
            await conn.execute(sa.insert(article_tags), tag_rows)
    return written


def _dedupe_entities(article: EnrichedArticle) -> list[Any]:
    seen: dict[tuple[str, str], Any] = {}
    for entity in article.entities:
        seen.setdefault((entity.name, entity.type), entity)
    return list(seen.values())


async def get_article(conn: AsyncConnection, *, article_id: str) -> dict[str, Any] | None:
    """Return one stored article as its JSON document."""
    doc = (
        await conn.execute(sa.select(articles.c.doc).where(articles.c.id == article_id))
    ).scalar_one_or_none()
    return _doc(doc) if doc is not None else None


def _doc(value: Any) -> dict[str, Any]:
    return orjson.loads(value) if isinstance(value, str | bytes) else dict(value)


@dataclass(frozen=True)
class ArticleQuery:
    """Filters of the article list; every given filter must hold."""

    entities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: str | None = None
    limit: int = 20
    cursor: str | None = None


def encode_cursor(sort_time: datetime, article_id: str) -> str:
    """Make an opaque cursor pointing just after this row."""
    raw = orjson.dumps([_utc(sort_time).isoformat(), article_id])  # type: ignore[union-attr]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Read a cursor back; raise BadCursor when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, article_id = orjson.loads(raw)
        return datetime.fromisoformat(when), str(article_id)
    except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadCursor("cursor is not valid: pass back the next_cursor of a previous page") from exc


async def list_articles(
    conn: AsyncConnection, *, query: ArticleQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """Return one page of matching articles, newest first, and the cursor of the next page."""
    stmt = sa.select(articles.c.id, articles.c.sort_time, articles.c.doc)
    for name in query.entities:
        stmt = stmt.where(
            articles.c.id.in_(sa.select(article_entities.c.article_id).where(article_entities.c.name == name))
        )
    for tag in query.tags:
        stmt = stmt.where(
            articles.c.id.in_(sa.select(article_tags.c.article_id).where(article_tags.c.tag == tag))
        )
    if query.source is not None:
        stmt = stmt.where(articles.c.source == query.source)
    if query.cursor:
        when, last_id = decode_cursor(query.cursor)
        stmt = stmt.where(
            sa.or_(
                articles.c.sort_time < when, sa.and_(articles.c.sort_time == when, articles.c.id < last_id)
            )
        )
    stmt = stmt.order_by(articles.c.sort_time.desc(), articles.c.id.desc()).limit(query.limit + 1)
    rows = (await conn.execute(stmt)).all()
    page = rows[: query.limit]
    next_cursor = encode_cursor(page[-1].sort_time, page[-1].id) if len(rows) > query.limit else None
    return [_doc(r.doc) for r in page], next_cursor
