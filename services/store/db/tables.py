"""The store's schema: one row per article plus lookup tables for what users filter on.

The migrations under ``migrations/`` create it; these definitions are what queries are built from.
Every lookup row repeats its article's ``sort_time``, so a filter reads one index in page order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

metadata = sa.MetaData()

Document = sa.JSON().with_variant(JSONB(), "postgresql")
# Folded keys compare byte by byte on both engines, so a prefix is an index range.
Key = sa.String(300).with_variant(sa.String(300, collation="C"), "postgresql")
Time = sa.DateTime(timezone=True)


def _article_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.String(64), primary_key=True),
        # Newest-first order and cursors use sort_time: published time, else arrival time.
        sa.Column("sort_time", Time, nullable=False),
        sa.Column("published_at", Time),
        sa.Column("received_at", Time, nullable=False),
        sa.Column("enriched_at", Time, nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("language", sa.String(16)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("doc", Document, nullable=False),
    ]


articles = sa.Table(
    "articles",
    metadata,
    *_article_columns(),
    sa.Index("ix_articles_sort", "sort_time", "id"),
    sa.Index("ix_articles_source_sort", "source", "sort_time", "id"),
    sa.Index("ix_articles_language_sort", "language", "sort_time", "id"),
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
    sa.Column("sort_time", Time),
    sa.Column("name_key", Key),
    sa.Index("ix_article_entities_name_sort", "name", "sort_time", "article_id"),
    # Covers counting: groups of (name_key, name, type) are groups of (name, type), read in index order.
    sa.Index("ix_article_entities_key", "name_key", "name", "type"),
    sa.Index("ix_article_entities_sort", "sort_time"),
)

article_tags = sa.Table(
    "article_tags",
    metadata,
    sa.Column(
        "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("tag", sa.String(300), primary_key=True),
    sa.Column("sort_time", Time),
    sa.Column("tag_key", Key),
    sa.Index("ix_article_tags_tag_sort", "tag", "sort_time", "article_id"),
    sa.Index("ix_article_tags_key", "tag_key", "tag"),
    sa.Index("ix_article_tags_sort", "sort_time"),
)

# One row per assigned topic and per broader topic above it, so a parent code finds its descendants.
article_topics = sa.Table(
    "article_topics",
    metadata,
    sa.Column(
        "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("label", sa.String(300), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("direct", sa.Boolean, nullable=False),
    sa.Column("sort_time", Time),
    sa.Index("ix_article_topics_code_sort", "code", "sort_time", "article_id"),
    sa.Index("ix_article_topics_sort", "sort_time"),
)

# Running counts of articles per entity, tag and topic, kept in step with the lookup rows above by
# the transaction that writes them, so "most mentioned" never scans every lookup row.
entity_counts = sa.Table(
    "entity_counts",
    metadata,
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("type", sa.String(16), primary_key=True),
    sa.Column("name_key", Key, nullable=False),
    sa.Column("articles", sa.Integer, nullable=False),
    # Ties in article counts go to the entity mentioned more often.
    sa.Column("mentions", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_entity_counts_articles", "articles", "mentions"),
    sa.Index("ix_entity_counts_key", "name_key"),
)

tag_counts = sa.Table(
    "tag_counts",
    metadata,
    sa.Column("tag", sa.String(300), primary_key=True),
    sa.Column("tag_key", Key, nullable=False),
    sa.Column("articles", sa.Integer, nullable=False),
    sa.Index("ix_tag_counts_articles", "articles"),
    sa.Index("ix_tag_counts_key", "tag_key"),
)

topic_counts = sa.Table(
    "topic_counts",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("label", sa.String(300), nullable=False),
    sa.Column("articles", sa.Integer, nullable=False),
    sa.Index("ix_topic_counts_articles", "articles"),
)


class TermVector(sa.types.TypeDecorator[str]):
    """A tsvector written as its literal text (``services.store.db.terms``), cast by the server.

    The store builds the vector from its own terms, so PostgreSQL's text parser never splits a word.
    """

    impl = TSVECTOR
    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(sa.type_coerce(bindvalue, sa.Text), TSVECTOR)


# PostgreSQL only: ``search`` holds the terms of title, summary and body (GIN index) for matching;
# ``search_head`` those of title and summary, small enough to stay in the row, for ranking. The
# store writes both with the row, through this second definition of the articles table.
pg_search = sa.MetaData()
pg_articles = sa.Table(
    "articles",
    pg_search,
    *_article_columns(),
    sa.Column("search", TermVector),
    sa.Column("search_head", TermVector),
)
search_vector = sa.literal_column("articles.search", type_=TSVECTOR)
search_head = sa.literal_column("articles.search_head", type_=TSVECTOR)

# SQLite only: an FTS5 table of the terms of title, summary and body, written by the store with each
# article and keyed through fts_keys. Its ``ascii`` tokenizer keeps every non-ASCII character in a
# token, and terms hold no ASCII but letters and digits, so it splits at the spaces between terms only.
sqlite_search = sa.MetaData()
fts_keys = sa.Table(
    "articles_fts_keys",
    sqlite_search,
    sa.Column("fts_rowid", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.String(64), nullable=False, unique=True),
    sa.Column("sort_time", Time),  # the article's, so matches are put in order without reading articles
)
articles_fts = sa.Table(
    "articles_fts",
    sqlite_search,
    sa.Column("rowid", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("body", sa.Text),
    sa.Column("articles_fts", sa.Text),  # FTS5's hidden column named after the table: ``MATCH`` target
)
