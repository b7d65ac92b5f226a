"""Counts over stored articles: top entities, topics and tags, and totals for the stats page."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from services.contracts import to_utc
from services.store.db.tables import (
    article_entities,
    article_tags,
    article_topics,
    articles,
    entity_counts,
    tag_counts,
    topic_counts,
)
from services.taxonomy import taxonomy

_WORD = re.compile(r"\w+")
_LAST = "\U0010ffff"  # the largest code point: key >= p and key < p + _LAST is "starts with p"


def _starts_with(key: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    folded = prefix.casefold()
    return sa.and_(key >= folded, key < folded + _LAST)


def _most(stmt: sa.Select[Any], *order: ColumnElement[Any], limit: int) -> sa.Select[Any]:
    return stmt.order_by(sa.literal_column("articles").desc(), *order).limit(limit)


async def top_entities(
    conn: AsyncConnection,
    *,
    entity_type: str | None = None,
    prefix: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Return entities by number of articles, most first; ``prefix`` matches names case-insensitively.

    All time is read from the running counts; ``since`` counts the lookup rows of that period.
    """
    if since is None:
        c = entity_counts.c
        stmt = sa.select(c.name, c.type, c.articles, c.mentions.label("mentions")).where(c.articles > 0)
        name, kind, key = c.name, c.type, c.name_key
        mentions: ColumnElement[Any] = c.mentions
    else:
        e = article_entities.c
        count = sa.func.count().label("articles")
        mentions = sa.func.sum(e.mentions)
        stmt = (
            sa.select(e.name, e.type, count, mentions.label("mentions"))
            .where(e.sort_time >= to_utc(since))
            .group_by(e.name, e.type)
        )
        name, kind, key = e.name, e.type, e.name_key
    if entity_type is not None:
        stmt = stmt.where(kind == entity_type)
    if prefix:
        stmt = stmt.where(_starts_with(key, prefix))
    rows = await conn.execute(_most(stmt, mentions.desc(), name, kind, limit=limit))
    return [{"name": r.name, "type": r.type, "articles": r.articles} for r in rows]


async def top_tags(
    conn: AsyncConnection, *, prefix: str | None = None, since: datetime | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Return tags by number of articles, most first; ``prefix`` matches case-insensitively."""
    if since is None:
        c = tag_counts.c
        stmt = sa.select(c.tag, c.articles).where(c.articles > 0)
        tag, key = c.tag, c.tag_key
    else:
        t = article_tags.c
        count = sa.func.count().label("articles")
        stmt = sa.select(t.tag, count).where(t.sort_time >= to_utc(since)).group_by(t.tag)
        tag, key = t.tag, t.tag_key
    if prefix:
        stmt = stmt.where(_starts_with(key, prefix))
    rows = await conn.execute(_most(stmt, tag, limit=limit))
    return [{"name": r.tag, "articles": r.articles} for r in rows]


async def top_topics(
    conn: AsyncConnection, *, prefix: str | None = None, since: datetime | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Return topics by number of articles filed under them or below them, most first.

    ``prefix`` matches the start of the code (``medtop:11``) or of any word of the label.
    """
    if since is None:
        c = topic_counts.c
        stmt = sa.select(c.code, c.articles).where(c.articles > 0)
        code = c.code
    else:
        t = article_topics.c
        count = sa.func.count().label("articles")
        stmt = sa.select(t.code, count).where(t.sort_time >= to_utc(since)).group_by(t.code)
        code = t.code
    if prefix:
        stmt = stmt.where(sa.or_(code.in_(_codes_named(prefix)), code.startswith(prefix, autoescape=True)))
    rows = (await conn.execute(_most(stmt, code, limit=limit))).all()
    labels = await _topic_labels(conn, codes=[r.code for r in rows])
    return [{"code": r.code, "label": labels[r.code], "articles": r.articles} for r in rows]


def _codes_named(prefix: str) -> list[str]:
    """Return the known codes with a label word that starts with ``prefix``, case-insensitively."""
    folded = prefix.casefold()
    return [
        node.code
        for node in taxonomy().nodes.values()
        if any(word.startswith(folded) for word in _WORD.findall(node.label.casefold()))
    ]


async def _topic_labels(conn: AsyncConnection, *, codes: list[str]) -> dict[str, str]:
    """Label codes from the shipped taxonomy; read the stored label only of codes it does not know."""
    labels = {code: label for code in codes if (label := taxonomy().label(code)) is not None}
    unknown = [code for code in codes if code not in labels]
    if unknown:
        c = topic_counts.c
        stored = await conn.execute(sa.select(c.code, c.label).where(c.code.in_(unknown)))
        labels.update({code: label for code, label in stored})
    return labels


async def article_totals(conn: AsyncConnection, *, top: int = 10) -> dict[str, Any]:
    """Count articles in all, by language and by source (the ``top`` biggest); find the newest."""
    a = articles.c
    total, newest = (await conn.execute(sa.select(sa.func.count(), sa.func.max(a.sort_time)))).one()
    count = sa.func.count().label("articles")
    languages = await conn.execute(
        sa.select(a.language, count).group_by(a.language).order_by(count.desc(), a.language)
    )
    sources = await conn.execute(
        sa.select(a.source, count).group_by(a.source).order_by(count.desc(), a.source).limit(top)
    )
    return {
        "total": int(total),
        "newest_article_at": to_utc(newest) if newest is not None else None,
        "by_language": [{"language": r.language, "articles": r.articles} for r in languages],
        "by_source": [{"source": r.source, "articles": r.articles} for r in sources],
    }
