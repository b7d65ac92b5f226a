"""Stored documents serve every time in UTC; the offset a source gave moves to ``published_offset``.

Articles stored before this revision kept ``published_at`` with the offset the client posted. Their
time columns were already UTC; only the JSON document changes.

Revision ID: 0006
Revises: 0005
Create Date: 2024-06-06
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 1000
_TIMES = ("published_at", "received_at", "enriched_at")
_articles = sa.table("articles", sa.column("id", sa.String), sa.column("doc", sa.JSON))


def _offset(value: datetime) -> str | None:
    delta = value.utcoffset()
    if not delta:
        return None
    minutes = int(delta.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _in_utc(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Return the document with its times in UTC, or None when it has nothing to change."""
    changed = dict(doc)
    for name in _TIMES:
        text = doc.get(name)
        if not isinstance(text, str) or text.endswith("Z"):
            continue
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if name == "published_at" and doc.get("published_offset") is None:
            changed["published_offset"] = _offset(value)
        changed[name] = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return changed if changed != doc else None


def upgrade() -> None:
    """Rewrite, in batches by id, every document whose times are not written in UTC."""
    bind = op.get_bind()
    last = ""
    while True:
        rows = bind.execute(
            sa.select(_articles.c.id, _articles.c.doc)
            .where(_articles.c.id > last)
            .order_by(_articles.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for article_id, doc in rows:
            loaded = orjson.loads(doc) if isinstance(doc, str | bytes) else doc
            if (new := _in_utc(loaded)) is not None:
                bind.execute(sa.update(_articles).where(_articles.c.id == article_id).values(doc=new))
        last = rows[-1][0]


def downgrade() -> None:
    """Nothing to undo: a time in UTC denotes the same instant as before."""
