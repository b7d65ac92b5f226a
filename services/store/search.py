"""Full-text search: parse what a user types, then match and rank it with each engine's own index.

The syntax is the familiar web one: words (all must match), ``"a phrase"``, ``-word`` to exclude and
``OR`` between alternatives. Everything else is treated as text, so no input reaches the engine's own
query language: SQLite gets FTS5 phrases in double quotes, PostgreSQL ``websearch_to_tsquery``.

Relevance is a per-article score that depends on the article and the query alone, never on the rest
of the collection, so a relevance cursor stays valid while articles arrive. Headline and summary
decide; matches in the body alone come after them, newest first. PostgreSQL scores with ``ts_rank_cd``
(cover density over the weighted title and summary: title words weigh more, close words count more).
SQLite's ``bm25`` depends on the whole collection, so SQLite grades matches from its FTS5 index
instead: every word in the title (4), every word in the summary (2), the words as a phrase (1).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from services.store.errors import BadSearch
from services.store.tables import articles, articles_fts, fts_keys, search_head, search_vector

MAX_TERMS = 32
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"[^\W_]+")
PG_CONFIG = "wirestream_english"  # created by the migrations: English stemming, accents folded
RANK_SCALE = 1_000_000  # PostgreSQL ranks are floats: cursors compare them as integers


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words that must appear in this order (one word is a plain term); ``negated`` excludes them."""

    words: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class TextQuery:
    """Alternatives (``OR``) of groups whose phrases must all hold."""

    groups: tuple[tuple[Phrase, ...], ...]

    def fingerprint(self) -> str:
        """Identify the query in a cursor, so a cursor cannot page a different search."""
        return hashlib.blake2b(self.websearch().encode(), digest_size=6).hexdigest()

    def fts5(self, columns: str = "") -> str:
        """Render for an FTS5 ``MATCH``, optionally limited to ``{col ...}`` columns."""
        body = " OR ".join(f"({_fts5_group(group)})" for group in self.groups)
        return f"{columns} : ({body})" if columns else body

    def fts5_phrases(self) -> str | None:
        """Render each group's wanted words as one phrase, or None when no group has two words."""
        phrases = [words for group in self.groups if len(words := _wanted_words(group)) > 1]
        if not phrases:
            return None
        return " OR ".join(_quoted(words) for words in phrases)

    def websearch(self) -> str:
        """Render for ``websearch_to_tsquery``; every term is quoted, so ``or`` stays a word."""
        return " OR ".join(
            " ".join(("-" if p.negated else "") + _quoted(p.words) for p in group) for group in self.groups
        )


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'  # words hold letters and digits only: nothing to escape


def _wanted_words(group: tuple[Phrase, ...]) -> tuple[str, ...]:
    return tuple(w for p in group if not p.negated for w in p.words)


def _fts5_group(group: tuple[Phrase, ...]) -> str:
    wanted = " AND ".join(_quoted(p.words) for p in group if not p.negated)
    for phrase in group:
        if phrase.negated:
            wanted = f"({wanted}) NOT {_quoted(phrase.words)}"
    return wanted


def parse(text: str) -> TextQuery:
    """Parse user input; raise BadSearch when nothing is left to look for."""
    groups: list[tuple[Phrase, ...]] = []
    current: list[Phrase] = []
    terms = 0
    for token in _TOKEN.findall(text):
        if token == "OR":
            groups.append(tuple(current))
            current = []
            continue
        negated = token.startswith("-") and len(token) > 1
        words = tuple(w.lower() for w in _WORD.findall(token[1:] if negated else token))
        if words:
            current.append(Phrase(words, negated))
            terms += len(words)
    groups.append(tuple(current))
    kept = tuple(g for g in groups if any(not p.negated for p in g))
    if not kept:
        raise BadSearch("q has no word to search for: give at least one word that is not excluded")
    if terms > MAX_TERMS:
        raise BadSearch(f"q has {terms} words; at most {MAX_TERMS} are searched")
    return TextQuery(kept)


@dataclass
class Scan:
    """Rows to read for a page: a table with each article's time and id, conditions, maybe a score."""

    source: sa.FromClause
    time: ColumnElement[Any]
    article_id: ColumnElement[str]
    where: list[ColumnElement[bool]]
    score: ColumnElement[int] | None


def _fts_rowids(expression: str) -> sa.Select[tuple[int]]:
    return sa.select(articles_fts.c.rowid).where(articles_fts.c.articles_fts.op("MATCH")(expression))


def _tsquery(query: TextQuery) -> ColumnElement[Any]:
    return sa.func.websearch_to_tsquery(sa.literal_column(f"'{PG_CONFIG}'::regconfig"), query.websearch())


def matches(dialect: str, query: TextQuery, *, ranked: bool) -> Scan:
    """Return the matches of ``query``, with a relevance score when ``ranked``.

    On SQLite the FTS5 key rows carry each article's time, so matches are ordered without reading
    articles at all.
    """
    if dialect == "postgresql":
        # Cover density over title and summary; the body's vector is too big to read for every match.
        rank = sa.func.ts_rank_cd(search_head, _tsquery(query), 1)
        score = sa.cast(sa.func.floor(rank * RANK_SCALE), sa.BigInteger) if ranked else None
        condition = search_vector.bool_op("@@")(_tsquery(query))
        return Scan(articles, articles.c.sort_time, articles.c.id, [condition], score)
    rowid = fts_keys.c.fts_rowid
    graded: ColumnElement[int] | None = None
    if ranked:
        grades = [(query.fts5("{title}"), 4), (query.fts5("{summary}"), 2)]
        if (phrases := query.fts5_phrases()) is not None:
            grades.append((phrases, 1))
        graded = sa.literal(0, sa.Integer)
        for expression, weight in grades:
            graded = graded + sa.case((rowid.in_(_fts_rowids(expression)), weight), else_=0)
    where: list[ColumnElement[bool]] = [rowid.in_(_fts_rowids(query.fts5()))]
    return Scan(fts_keys, fts_keys.c.sort_time, fts_keys.c.article_id, where, graded)
