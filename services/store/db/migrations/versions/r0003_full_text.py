"""Full-text search in each engine's own index: FTS5 on SQLite, generated tsvectors on PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2024-06-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BODY_CHARS = 100_000  # PostgreSQL caps a tsvector at 1 MB: index the start of very long bodies only

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
    """Create the full-text index and fill it from the stored articles."""
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


def downgrade() -> None:
    """Drop the full-text index."""
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
