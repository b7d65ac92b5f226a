"""Topics with their broader topics, and lookup rows that carry their article's time and a folded key.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-02
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.taxonomy import taxonomy

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Key = sa.String(300).with_variant(sa.String(300, collation="C"), "postgresql")
Time = sa.DateTime(timezone=True)
_BATCH = 2000

_articles = sa.table(
    "articles", sa.column("id", sa.String), sa.column("sort_time", Time), sa.column("doc", sa.JSON)
)
_INDEXES = {
    "articles": {"ix_articles_language_sort": ["language", "sort_time", "id"]},
    "article_entities": {
        "ix_article_entities_name_sort": ["name", "sort_time", "article_id"],
        "ix_article_entities_key": ["name_key", "name", "type"],
        "ix_article_entities_sort": ["sort_time"],
    },
    "article_tags": {
        "ix_article_tags_tag_sort": ["tag", "sort_time", "article_id"],
        "ix_article_tags_key": ["tag_key", "tag"],
        "ix_article_tags_sort": ["sort_time"],
    },
    "article_topics": {
        "ix_article_topics_code_sort": ["code", "sort_time", "article_id"],
        "ix_article_topics_sort": ["sort_time"],
    },
}


def upgrade() -> None:
    """Add times and folded keys to lookup rows and the topics table; fill them for stored articles."""
    for table, key in (("article_entities", "name_key"), ("article_tags", "tag_key")):
        op.add_column(table, sa.Column("sort_time", Time))
        op.add_column(table, sa.Column(key, Key))
    op.create_table(
        "article_topics",
        sa.Column(
            "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("direct", sa.Boolean, nullable=False),
        sa.Column("sort_time", Time),
    )
    _backfill()
    op.drop_index("ix_article_entities_name", "article_entities")
    op.drop_index("ix_article_tags_tag", "article_tags")
    for table, indexes in _INDEXES.items():  # after the backfill: filling indexed columns is slower
        for name, columns in indexes.items():
            op.create_index(name, table, columns)


def _backfill() -> None:
    """Fill the new columns and topic rows of articles stored before this revision."""
    bind = op.get_bind()
    for table, key, column in (("article_entities", "name_key", "name"), ("article_tags", "tag_key", "tag")):
        rows = sa.table(
            table, sa.column("article_id"), sa.column("sort_time", Time), sa.column(key), sa.column(column)
        )
        time = sa.select(_articles.c.sort_time).where(_articles.c.id == rows.c.article_id).scalar_subquery()
        bind.execute(sa.update(rows).values(sort_time=time))
        values = [v for (v,) in bind.execute(sa.select(rows.c[column]).distinct())]
        update = (
            sa.update(rows).where(rows.c[column] == sa.bindparam("old")).values({key: sa.bindparam("new")})
        )
        for start in range(0, len(values), _BATCH):
            chunk = values[start : start + _BATCH]
            bind.execute(update, [{"old": v, "new": v.casefold()} for v in chunk])
    topics = sa.table(
        "article_topics",
        *(sa.column(c) for c in ("article_id", "code", "label", "score", "direct")),
        sa.column("sort_time", Time),
    )
    last = ""
    while True:  # keyset pages by id: bounded memory on any engine
        page = bind.execute(
            sa.select(_articles.c.id, _articles.c.sort_time, _articles.c.doc)
            .where(_articles.c.id > last)
            .order_by(_articles.c.id)
            .limit(_BATCH)
        ).all()
        if not page:
            return
        last = page[-1].id
        found = [row for a in page for row in _topic_rows(a.id, a.sort_time, a.doc)]
        if found:
            bind.execute(sa.insert(topics), found)


def _topic_rows(article_id: str, sort_time: Any, doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, str | bytes):
        doc = json.loads(doc)
    found = (doc or {}).get("topics") or []
    assigned = [(t["code"], t.get("label") or "", float(t.get("score") or 0.0)) for t in found]
    return [
        {
            "article_id": article_id,
            "sort_time": sort_time,
            "code": t.code,
            "label": t.label,
            "score": t.score,
            "direct": t.direct,
        }
        for t in taxonomy().roll_up(assigned)
    ]


def downgrade() -> None:
    """Drop topics and the new columns; restore the baseline indexes."""
    op.drop_table("article_topics")
    for table, indexes in _INDEXES.items():
        if table != "article_topics":
            for name in indexes:
                op.drop_index(name, table)
    for table, key in (("article_entities", "name_key"), ("article_tags", "tag_key")):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(key)
            batch.drop_column("sort_time")
    op.create_index("ix_article_entities_name", "article_entities", ["name", "article_id"])
    op.create_index("ix_article_tags_tag", "article_tags", ["tag", "article_id"])
