"""Running article counts per entity, tag and topic, changed in the transaction that changes the rows.

A write tallies +1 for every lookup row it adds and -1 for every row of an older enrichment it drops,
then applies the net changes in key order: concurrent writers lock the same counters in the same
order, so they queue instead of deadlocking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.store.db.tables import (
    article_entities,
    article_tags,
    article_topics,
    entity_counts,
    tag_counts,
    topic_counts,
)


@dataclass
class Tally:
    """Net change of article counts, by key, with the labels new keys need."""

    entities: Counter[tuple[str, str]] = field(default_factory=Counter)
    mentions: Counter[tuple[str, str]] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    labels: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        *,
        entities: Iterable[Mapping[Any, Any]] = (),
        tags: Iterable[Mapping[Any, Any]] = (),
        topics: Iterable[Mapping[Any, Any]] = (),
        sign: int = 1,
    ) -> None:
        """Count lookup rows (as column mappings) in, or out with ``sign=-1``."""
        for row in entities:
            self.entities[(row["name"], row["type"])] += sign
            self.mentions[(row["name"], row["type"])] += sign * int(row["mentions"])
        for row in tags:
            self.tags[row["tag"]] += sign
        for row in topics:
            self.topics[row["code"]] += sign
            self.labels.setdefault(row["code"], row["label"])


async def tally_dropped(conn: AsyncConnection, *, article_ids: Sequence[str], tally: Tally) -> None:
    """Count out the lookup rows these articles have now, before they are replaced."""
    if not article_ids:
        return
    e, t, p = article_entities.c, article_tags.c, article_topics.c
    ids = list(article_ids)
    tally.add(
        entities=(
            await conn.execute(sa.select(e.name, e.type, e.mentions).where(e.article_id.in_(ids)))
        ).mappings(),
        tags=(await conn.execute(sa.select(t.tag).where(t.article_id.in_(ids)))).mappings(),
        topics=(await conn.execute(sa.select(p.code, p.label).where(p.article_id.in_(ids)))).mappings(),
        sign=-1,
    )


async def apply(conn: AsyncConnection, *, tally: Tally) -> None:
    """Add the tally's net changes to the counters, creating counters for new keys."""
    entities = [
        {
            "name": name,
            "type": kind,
            "name_key": name.casefold(),
            "articles": n,
            "mentions": tally.mentions[(name, kind)],
        }
        for (name, kind), n in sorted(tally.entities.items())
        if n or tally.mentions[(name, kind)]
    ]
    tags = [
        {"tag": tag, "tag_key": tag.casefold(), "articles": n} for tag, n in sorted(tally.tags.items()) if n
    ]
    topics = [
        {"code": code, "label": tally.labels.get(code, code), "articles": n}
        for code, n in sorted(tally.topics.items())
        if n
    ]
    for table, keys, rows in (
        (entity_counts, ("name", "type"), entities),
        (tag_counts, ("tag",), tags),
        (topic_counts, ("code",), topics),
    ):
        if rows:
            await conn.execute(_bump(conn, table, keys), rows)


def _bump(conn: AsyncConnection, table: sa.Table, keys: tuple[str, ...]) -> sa.Insert:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table)
    added = [c for c in ("articles", "mentions") if c in table.c]
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={c: table.c[c] + stmt.excluded[c] for c in added},
    )
