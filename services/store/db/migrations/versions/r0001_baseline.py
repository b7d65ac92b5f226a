"""Articles with their entities and tags: the schema the store had before it was migrated.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create articles, article_entities and article_tags."""
    op.create_table(
        "articles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("sort_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enriched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("language", sa.String(16)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("doc", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
    op.create_index("ix_articles_sort", "articles", ["sort_time", "id"])
    op.create_index("ix_articles_source_sort", "articles", ["source", "sort_time", "id"])
    op.create_table(
        "article_entities",
        sa.Column(
            "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("type", sa.String(16), primary_key=True),
        sa.Column("mentions", sa.Integer, nullable=False),
        sa.Column("salience", sa.Float, nullable=False),
    )
    op.create_index("ix_article_entities_name", "article_entities", ["name", "article_id"])
    op.create_table(
        "article_tags",
        sa.Column(
            "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tag", sa.String(300), primary_key=True),
    )
    op.create_index("ix_article_tags_tag", "article_tags", ["tag", "article_id"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("article_tags")
    op.drop_table("article_entities")
    op.drop_table("articles")
