"""Full-text search: parse what a user types, then match and rank it in each engine's index.

The syntax is the familiar web one: words (all must match), ``"a phrase"``, ``-word`` to exclude and
``OR`` between alternatives. Everything else is treated as text, so no input reaches the engine's own
query language: SQLite gets FTS5 phrases in double quotes, PostgreSQL a tsquery of quoted lexemes.

Both engines index the terms of ``services.store.db.terms`` and match the query's terms made by the same
function, so they find the same articles: a query word is the phrase of its terms (``e-mail`` is
``e`` then ``mail``; ``深圳`` is ``深`` then ``圳``), a quoted phrase the phrase of all its terms.

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
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql.elements import ColumnElement

from services.errors import BadSearch
from services.store.db import terms
from services.store.db.tables import articles, articles_fts, fts_keys, search_head, search_vector

MAX_TERMS = 32  # words a query may have, as runs of letters and digits: ``e-mail`` is two, ``深圳地铁`` one
MAX_QUERY_TERMS = 128  # index terms a query may have: ``e-mail`` is two, ``深圳地铁`` four
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
RANK_SCALE = 1_000_000  # PostgreSQL ranks are floats: cursors compare them as integers


@dataclass(frozen=True, slots=True)
class Phrase:
    """Index terms that must appear in this order (one is a plain term); ``negated`` excludes them."""

    words: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class TextQuery:
    """Alternatives (``OR``) of groups whose phrases must all hold."""

    groups: tuple[tuple[Phrase, ...], ...]

    def fingerprint(self) -> str:
        """Identify the query in a cursor, so a cursor cannot page a different search."""
        return hashlib.blake2b(self.tsquery().encode(), digest_size=6).hexdigest()

    def fts5(self, columns: str = "") -> str:
        """Render for an FTS5 ``MATCH``, optionally limited to ``{col ...}`` columns."""
        body = " OR ".join(f"({_fts5_group(group)})" for group in self.groups)
        return f"{columns} : ({body})" if columns else body

    def fts5_phrases(self) -> str | None:
        """Render each group's wanted words as one phrase, or None when no group has two of them."""
        phrases = [_wanted_terms(group) for group in self.groups if _wanted_count(group) > 1]
        if not phrases:
            return None
        return " OR ".join(_quoted(words) for words in phrases)

    def tsquery(self) -> str:
        """Render as a tsquery literal: ``'a' <-> 'b' & !'c' | 'd'``, every lexeme quoted."""
        return " | ".join(
            "(" + " & ".join(("!" if p.negated else "") + _ts_phrase(p.words) for p in group) + ")"
            for group in self.groups
        )


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'  # terms hold letters, digits and marks only: nothing to escape


def _ts_phrase(words: tuple[str, ...]) -> str:
    return "(" + " <-> ".join(terms.lexeme(w) for w in words) + ")"


def _wanted_count(group: tuple[Phrase, ...]) -> int:
    return sum(not p.negated for p in group)


def _wanted_terms(group: tuple[Phrase, ...]) -> tuple[str, ...]:
    return tuple(w for p in group if not p.negated for w in p.words)


def _fts5_group(group: tuple[Phrase, ...]) -> str:
    wanted = " AND ".join(_quoted(p.words) for p in group if not p.negated)
    for phrase in group:
        if phrase.negated:
            wanted = f"({wanted}) NOT {_quoted(phrase.words)}"
    return wanted


def parse(text: str) -> TextQuery:
    """Parse user input; raise BadSearch when nothing is left to look for, or too much."""
    groups: list[tuple[Phrase, ...]] = []
    current: list[Phrase] = []
    words = found = 0
    for token in _TOKEN.findall(text):
        if token == "OR":
            groups.append(tuple(current))
            current = []
            continue
        negated = token.startswith("-") and len(token) > 1
        content = token[1:] if negated else token
        if phrase := tuple(terms.terms(content)):
            current.append(Phrase(phrase, negated))
            words += terms.word_count(content)
            found += len(phrase)
    groups.append(tuple(current))
    kept = tuple(g for g in groups if any(not p.negated for p in g))
    if not kept:
        raise BadSearch("q has no word to search for: give at least one word that is not excluded")
    if words > MAX_TERMS:
        raise BadSearch(f"q has {words} words; at most {MAX_TERMS} are searched")
    if found > MAX_QUERY_TERMS:
        raise BadSearch(
            f"q has {found} terms to match (each character of Chinese, Japanese, Korean or Thai is one);"
            f" at most {MAX_QUERY_TERMS} are searched"
        )
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
    return sa.cast(sa.literal(query.tsquery(), sa.Text), TSQUERY)  # a literal: no parser, no stemming


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
