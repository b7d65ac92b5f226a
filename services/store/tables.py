"""The store's schema: one row per article plus lookup tables for what users filter on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

Document = sa.JSON().with_variant(JSONB(), "postgresql")

articles = sa.Table(
    "articles",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    # Newest-first order and cursors use sort_time: published time, else arrival time.
    sa.Column("sort_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("enriched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(200)),
    sa.Column("language", sa.String(16)),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("doc", Document, nullable=False),
    sa.Index("ix_articles_sort", "sort_time", "id"),
    sa.Index("ix_articles_source_sort", "source", "sort_time", "id"),
)

article_entities = sa.Table(
    "article_entities",
    metadata,
    sa.Column(
        "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("type", sa.String(16), primary_key=True),
    sa.Column("mentions", sa.Integer, nullable=False),
    sa.Column("salience", sa.Float, nullable=False),
    sa.Index("ix_article_entities_name", "name", "article_id"),
)

article_tags = sa.Table(
    "article_tags",
    metadata,
    sa.Column(
        "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(300), primary_key=True),
    sa.Index("ix_article_tags_tag", "tag", "article_id"),
)
