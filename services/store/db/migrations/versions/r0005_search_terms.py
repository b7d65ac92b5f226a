"""Search terms made by the store, one tokenizer for both engines, so both find the same articles.

The full-text indexes of revision 0003 split text with each engine's own parser (FTS5's porter
unicode61 on SQLite, the english configuration on PostgreSQL): they split punctuated words differently
and neither found a Chinese, Japanese or Thai word inside unspaced text. From this revision the store
makes the terms itself (``services.store.db.terms``) and writes them with each article:

- SQLite: ``articles_fts`` holds the terms of title, summary and body separated by spaces, under the
  ``ascii`` tokenizer, which splits on those spaces only and keeps every other character of a term.
  The store writes the rows; the triggers that filled them from ``articles`` are gone, except the one
  removing the rows of a deleted article.
- PostgreSQL: ``search`` and ``search_head`` become plain tsvector columns written by the store (they
  were generated from the text); the GIN index stays, the ``wirestream_english`` configuration goes.

Every stored article is indexed again here, from Python, a batch at a time. A store of an earlier
version that is still writing after this revision leaves its articles out of the index (NULL vectors
on PostgreSQL, no FTS5 row on SQLite) until they are written again: stop old replicas first.

Revision ID: 0005
Revises: 0004
Create Date: 2024-06-05
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.store.db import terms
from services.store.db.migrations.versions import r0003_full_text as r0003

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 500

_SQLITE_SEARCH = [
    "CREATE TABLE articles_fts_keys"
    " (fts_rowid INTEGER PRIMARY KEY, article_id VARCHAR(64) NOT NULL UNIQUE, sort_time DATETIME)",
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, summary, body, tokenize = 'ascii')",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        DELETE FROM articles_fts
            WHERE rowid = (SELECT fts_rowid FROM articles_fts_keys WHERE article_id = old.id);
        DELETE FROM articles_fts_keys WHERE article_id = old.id;
    END""",
    "INSERT INTO articles_fts_keys (article_id, sort_time)"
    " SELECT id, sort_time FROM articles ORDER BY sort_time, id",
]

_articles = sa.table("articles", sa.column("id", sa.String), sa.column("title"), sa.column("doc", sa.JSON))
_keys = sa.table("articles_fts_keys", sa.column("fts_rowid", sa.Integer), sa.column("article_id"))
_fts = sa.table("articles_fts", *(sa.column(c) for c in ("rowid", "title", "summary", "body")))
_vectors = sa.text(
    "UPDATE articles SET search = CAST(:search AS tsvector), search_head = CAST(:search_head AS tsvector)"
    " WHERE id = :id"
)


def upgrade() -> None:
    """Replace the engine-made index by the store's terms and index every stored article again."""
    r0003.downgrade()  # the triggers, FTS5 table and keys; the generated columns, index and configuration
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE articles ADD COLUMN search tsvector, ADD COLUMN search_head tsvector")
        _index_postgresql()
        op.execute("CREATE INDEX ix_articles_search ON articles USING gin (search)")  # faster once filled
    else:
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
        _index_sqlite()


def _indexed(title: str | None, doc: Any) -> terms.Indexed:
    if isinstance(doc, str | bytes):
        doc = json.loads(doc)
    doc = doc or {}
    return terms.index(title or "", doc.get("summary") or "", doc.get("body") or "")


def _index_postgresql() -> None:
    bind = op.get_bind()
    last = ""
    while True:  # keyset pages by id: bounded memory
        page = bind.execute(
            sa.select(_articles.c.id, _articles.c.title, _articles.c.doc)
            .where(_articles.c.id > last)
            .order_by(_articles.c.id)
            .limit(_BATCH)
        ).all()
        if not page:
            return
        last = page[-1].id
        rows = []
        for row in page:
            search, head = _indexed(row.title, row.doc).tsvectors()
            rows.append({"id": row.id, "search": search, "search_head": head})
        bind.execute(_vectors, rows)


def _index_sqlite() -> None:
    bind = op.get_bind()
    last = 0
    while True:
        page = bind.execute(
            sa.select(_keys.c.fts_rowid, _articles.c.title, _articles.c.doc)
            .join(_articles, _articles.c.id == _keys.c.article_id)
            .where(_keys.c.fts_rowid > last)
            .order_by(_keys.c.fts_rowid)
            .limit(_BATCH)
        ).all()
        if not page:
            return
        last = page[-1].fts_rowid
        rows = []
        for row in page:
            title, summary, body = _indexed(row.title, row.doc).fts5_columns()
            rows.append({"rowid": row.fts_rowid, "title": title, "summary": summary, "body": body})
        bind.execute(sa.insert(_fts), rows)


def downgrade() -> None:
    """Go back to the engine-made index of revision 0003, filled from the stored articles."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_articles_search")
        op.execute("ALTER TABLE articles DROP COLUMN search, DROP COLUMN search_head")
    else:
        op.execute("DROP TRIGGER articles_fts_delete")
        op.execute("DROP TABLE articles_fts")
        op.execute("DROP TABLE articles_fts_keys")
    r0003.upgrade()
