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


def _lookup(name: str, key: str, *items: Any) -> sa.Table:
    """A lookup table: rows of one article (gone with it), each with the article's ``sort_time``.

    A filter on ``key`` reads its index in page order: (key, sort_time, article_id).
    """
    article_id = sa.Column(
        "article_id", sa.String(64), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    by_key = sa.Index(f"ix_{name}_{key}_sort", key, "sort_time", "article_id")
    by_time = sa.Index(f"ix_{name}_sort", "sort_time")  # what a since= count reads
    return sa.Table(name, metadata, article_id, sa.Column("sort_time", Time), *items, by_key, by_time)


article_entities = _lookup(
    "article_entities",
    "name",
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("type", sa.String(16), primary_key=True),
    *(
        sa.Column(name, kind, nullable=False)
        for name, kind in (("mentions", sa.Integer), ("salience", sa.Float))
    ),
    sa.Column("name_key", Key),
    # Covers counting: groups of (name_key, name, type) are groups of (name, type), read in index order.
    sa.Index("ix_article_entities_key", "name_key", "name", "type"),
)

article_tags = _lookup(
    "article_tags",
    "tag",
    sa.Column("tag", sa.String(300), primary_key=True),
    sa.Column("tag_key", Key),
    sa.Index("ix_article_tags_key", "tag_key", "tag"),
)

# One row per assigned topic and per broader topic above it, so a parent code finds its descendants.
article_topics = _lookup(
    "article_topics",
    "code",
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("label", sa.String(300), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("direct", sa.Boolean, nullable=False),
)


# Running counts of articles per entity, tag and topic, kept in step with the lookup rows above by
# the transaction that writes them, so "most mentioned" never scans every lookup row.
def _counts(name: str, *columns: Any, order: tuple[str, ...] = ("articles",)) -> sa.Table:
    """A running count of articles per key; ``order`` is the index that "most first" reads."""
    articles = sa.Column("articles", sa.Integer, nullable=False)
    return sa.Table(name, metadata, *columns, articles, sa.Index(f"ix_{name}_articles", *order))


entity_counts = _counts(
    "entity_counts",
    sa.Column("name", sa.String(300), primary_key=True),
    sa.Column("type", sa.String(16), primary_key=True),
    sa.Column("name_key", Key, nullable=False),
    # Ties in article counts go to the entity mentioned more often.
    sa.Column("mentions", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_entity_counts_key", "name_key"),
    order=("articles", "mentions"),
)
tag_counts = _counts(
    "tag_counts",
    sa.Column("tag", sa.String(300), primary_key=True),
    sa.Column("tag_key", Key, nullable=False),
    sa.Index("ix_tag_counts_key", "tag_key"),
)
topic_counts = _counts(
    "topic_counts",
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("label", sa.String(300), nullable=False),
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
