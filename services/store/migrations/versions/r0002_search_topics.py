"""Full-text search, topics with their broader topics, and lookup rows that carry their article's time.

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
BODY_CHARS = 100_000  # PostgreSQL caps a tsvector at 1 MB: index the start of very long bodies only
_BATCH = 2000

_articles = sa.table(
    "articles", sa.column("id", sa.String), sa.column("sort_time", Time), sa.column("doc", sa.JSON)
)

# English stemming, and accents folded where the server has the unaccent extension: "cafe" finds "café".
_PG_CONFIG = "wirestream_english"
_PG_HEAD = f"""
    setweight(to_tsvector('{_PG_CONFIG}'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('{_PG_CONFIG}'::regconfig, coalesce(doc ->> 'summary', '')), 'B')
"""
_PG_BODY = f"to_tsvector('{_PG_CONFIG}'::regconfig, left(coalesce(doc ->> 'body', ''), {BODY_CHARS}))"
# search matches (GIN); search_head, small enough to stay inside the row, is what relevance reads.
_PG_COLUMNS = {"search": f"{_PG_HEAD} || setweight({_PG_BODY}, 'C')", "search_head": _PG_HEAD}

_FTS_ROW = f"""
    SELECT k.fts_rowid, new.title, coalesce(json_extract(new.doc, '$.summary'), ''),
           substr(coalesce(json_extract(new.doc, '$.body'), ''), 1, {BODY_CHARS})
    FROM articles_fts_keys AS k WHERE k.article_id = new.id
"""

# Not INSERT OR IGNORE: inside a trigger the firing upsert's conflict handling would override it.
_FTS_KEY = """INSERT INTO articles_fts_keys (article_id, sort_time) SELECT new.id, new.sort_time
            WHERE NOT EXISTS (SELECT 1 FROM articles_fts_keys WHERE article_id = new.id);
        UPDATE articles_fts_keys SET sort_time = new.sort_time WHERE article_id = new.id"""

_SQLITE_SEARCH = [
    "CREATE TABLE articles_fts_keys"
    " (fts_rowid INTEGER PRIMARY KEY, article_id VARCHAR(64) NOT NULL UNIQUE, sort_time DATETIME)",
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, summary, body, tokenize = 'porter unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        {_FTS_KEY};
        INSERT INTO articles_fts (rowid, title, summary, body) {_FTS_ROW};
    END""",
    f"""CREATE TRIGGER articles_fts_update AFTER UPDATE ON articles BEGIN
        DELETE FROM articles_fts
            WHERE rowid = (SELECT fts_rowid FROM articles_fts_keys WHERE article_id = old.id);
        {_FTS_KEY};
        INSERT INTO articles_fts (rowid, title, summary, body) {_FTS_ROW};
    END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        DELETE FROM articles_fts
            WHERE rowid = (SELECT fts_rowid FROM articles_fts_keys WHERE article_id = old.id);
        DELETE FROM articles_fts_keys WHERE article_id = old.id;
    END""",
    "INSERT INTO articles_fts_keys (article_id, sort_time)"
    " SELECT id, sort_time FROM articles ORDER BY sort_time, id",
    f"""INSERT INTO articles_fts (rowid, title, summary, body)
        SELECT k.fts_rowid, a.title, coalesce(json_extract(a.doc, '$.summary'), ''),
               substr(coalesce(json_extract(a.doc, '$.body'), ''), 1, {BODY_CHARS})
        FROM articles AS a JOIN articles_fts_keys AS k ON k.article_id = a.id""",
]


def upgrade() -> None:
    """Add times and folded keys to lookup rows, the topics table and each engine's full-text index."""
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
    op.create_index("ix_articles_language_sort", "articles", ["language", "sort_time", "id"])
    op.create_index("ix_article_entities_name_sort", "article_entities", ["name", "sort_time", "article_id"])
    op.create_index("ix_article_entities_key", "article_entities", ["name_key", "name", "type"])
    op.create_index("ix_article_entities_sort", "article_entities", ["sort_time"])
    op.create_index("ix_article_tags_tag_sort", "article_tags", ["tag", "sort_time", "article_id"])
    op.create_index("ix_article_tags_key", "article_tags", ["tag_key", "tag"])
    op.create_index("ix_article_tags_sort", "article_tags", ["sort_time"])
    op.create_index("ix_article_topics_code_sort", "article_topics", ["code", "sort_time", "article_id"])
    op.create_index("ix_article_topics_sort", "article_topics", ["sort_time"])
    if op.get_bind().dialect.name == "postgresql":
        _pg_search_config()
        for column, expression in _PG_COLUMNS.items():
            op.execute(
                f"ALTER TABLE articles ADD COLUMN {column} tsvector GENERATED ALWAYS AS ({expression}) STORED"
            )
        op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search)")
    else:
        for statement in _SQLITE_SEARCH:
            op.execute(statement)


def _pg_search_config() -> None:
    """Create the text search configuration; fold accents when unaccent can be installed."""
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {_PG_CONFIG} (COPY = english)")
    try:
        with op.get_bind().begin_nested():  # a savepoint: a refused extension must not abort the migration
            op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except sa.exc.DBAPIError:
        return
    op.execute(
        f"ALTER TEXT SEARCH CONFIGURATION {_PG_CONFIG} "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
    )


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
    """Drop the full-text index, topics and the new columns; restore the baseline indexes."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_articles_search")
        op.execute("ALTER TABLE articles DROP COLUMN search")
        op.execute("ALTER TABLE articles DROP COLUMN search_head")
        op.execute(f"DROP TEXT SEARCH CONFIGURATION {_PG_CONFIG}")
    else:
        for name in ("articles_fts_insert", "articles_fts_update", "articles_fts_delete"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE articles_fts")
        op.execute("DROP TABLE articles_fts_keys")
    op.drop_table("article_topics")
    for table, name in (
        ("articles", "ix_articles_language_sort"),
        ("article_entities", "ix_article_entities_name_sort"),
        ("article_entities", "ix_article_entities_key"),
        ("article_entities", "ix_article_entities_sort"),
        ("article_tags", "ix_article_tags_tag_sort"),
        ("article_tags", "ix_article_tags_key"),
        ("article_tags", "ix_article_tags_sort"),
    ):
        op.drop_index(name, table)
    for table, key in (("article_entities", "name_key"), ("article_tags", "tag_key")):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(key)
            batch.drop_column("sort_time")
    op.create_index("ix_article_entities_name", "article_entities", ["name", "article_id"])
    op.create_index("ix_article_tags_tag", "article_tags", ["tag", "article_id"])
