"""Running article counts per entity, tag and topic, so the most mentioned are read, not counted.

Revision ID: 0004
Revises: 0003
Create Date: 2024-06-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Key = sa.String(300).with_variant(sa.String(300, collation="C"), "postgresql")


def upgrade() -> None:
    """Create the running counts per entity, tag and topic, counted from the lookup rows."""
    op.create_table(
        "entity_counts",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("type", sa.String(16), primary_key=True),
        sa.Column("name_key", Key, nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.Column("mentions", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "tag_counts",
        sa.Column("tag", sa.String(300), primary_key=True),
        sa.Column("tag_key", Key, nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
    )
    op.create_table(
        "topic_counts",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
    )
    op.execute(
        "INSERT INTO entity_counts (name, type, name_key, articles, mentions)"
        " SELECT name, type, min(name_key), count(*), sum(mentions) FROM article_entities GROUP BY name, type"
    )
    op.execute(
        "INSERT INTO tag_counts (tag, tag_key, articles)"
        " SELECT tag, min(tag_key), count(*) FROM article_tags GROUP BY tag"
    )
    op.execute(
        "INSERT INTO topic_counts (code, label, articles)"
        " SELECT code, min(label), count(*) FROM article_topics GROUP BY code"
    )
    for table, key in (("entity_counts", "name_key"), ("tag_counts", "tag_key"), ("topic_counts", None)):
        ranked = ["articles", "mentions"] if table == "entity_counts" else ["articles"]
        op.create_index(f"ix_{table}_articles", table, ranked)
        if key:
            op.create_index(f"ix_{table}_key", table, [key])


def downgrade() -> None:
    """Drop the counts."""
    for table in ("entity_counts", "tag_counts", "topic_counts"):
        op.drop_table(table)
