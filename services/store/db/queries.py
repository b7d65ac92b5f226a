"""The article listing: filters that combine, full-text search, and keyset pages in a stable order."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from services.contracts import EnrichedArticle
from services.errors import BadFilter
from services.store.db import cursors, search
from services.store.db.tables import article_entities, article_tags, article_topics, articles
from services.store.filters import ArticleFilter

Sort = Literal["published", "relevance"]
_PROBE = 5000  # rows counted per lookup filter when choosing which one drives the scan


@dataclass(frozen=True)
class ArticleQuery(ArticleFilter):
    """One page of the article list: the filters, the order and where the last page ended."""

    limit: int = 20
    cursor: str | None = None
    sort: Sort = "published"

    @classmethod
    def of(
        cls, filters: ArticleFilter, *, limit: int = 20, cursor: str | None = None, sort: Sort = "published"
    ) -> ArticleQuery:
        """The page of ``filters`` in the order ``sort``, after ``cursor``."""
        given = {f.name: getattr(filters, f.name) for f in fields(ArticleFilter) if f.init}
        return cls(**given, limit=limit, cursor=cursor, sort=sort)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sort not in get_args(Sort):
            raise BadFilter(f"sort must be one of {', '.join(get_args(Sort))}")
        if self.sort == "relevance" and self.text is None:
            raise BadFilter("sort=relevance ranks a full-text search: give q as well")


@dataclass
class _Lookup:
    """One filter answered by a lookup table: column values its rows must have."""

    table: sa.Table
    equals: dict[str, str] = field(default_factory=dict)

    def conditions(self, table: sa.FromClause) -> list[ColumnElement[bool]]:
        return [table.c[name] == value for name, value in self.equals.items()]

    def holds_for(self, article_id: ColumnElement[str]) -> ColumnElement[bool]:
        rows = self.table.alias()  # an alias never correlates with the driving copy of the same table
        return sa.exists().where(rows.c.article_id == article_id, *self.conditions(rows))


def _lookups(query: ArticleQuery) -> list[_Lookup]:
    typed = {"type": query.entity_type} if query.entity_type is not None else {}
    out = [_Lookup(article_entities, {"name": n, **typed}) for n in dict.fromkeys(query.entities)]
    out += [_Lookup(article_tags, {"tag": t}) for t in dict.fromkeys(query.tags)]
    out += [_Lookup(article_topics, {"code": c}) for c in dict.fromkeys(query.topics)]
    return out


async def _pick_driver(conn: AsyncConnection, lookups: list[_Lookup]) -> int:
    """Return the index of the lookup with the fewest rows (capped), which is the cheapest to scan."""
    if len(lookups) < 2:
        return 0
    sizes = []
    for lookup in lookups:
        rows = sa.select(sa.literal(1)).where(*lookup.conditions(lookup.table)).limit(_PROBE)
        sizes.append(
            int((await conn.execute(sa.select(sa.func.count()).select_from(rows.subquery()))).scalar_one())
        )
    return sizes.index(min(sizes))


async def _scan(conn: AsyncConnection, query: ArticleQuery, text: search.TextQuery | None) -> search.Scan:
    """Choose the rows to read: full-text matches, else the most selective lookup, else all articles."""
    lookups = _lookups(query)
    if text is not None:
        scan = search.matches(conn.dialect.name, text, ranked=query.sort == "relevance")
    elif lookups:
        # A lookup index on (value, sort_time, article_id) yields its rows already in page order.
        driver = lookups.pop(await _pick_driver(conn, lookups))
        table = driver.table
        scan = search.Scan(table, table.c.sort_time, table.c.article_id, driver.conditions(table), None)
        if table is article_entities and query.entity_type is None:
            scan.where.append(_first_type_only())
    else:
        scan = search.Scan(articles, articles.c.sort_time, articles.c.id, [], None)
    if scan.source is not articles and (query.source is not None or query.language is not None):
        scan.source = scan.source.join(articles, articles.c.id == scan.article_id)
    scan.where += [lookup.holds_for(scan.article_id) for lookup in lookups]
    return scan


def _filters(query: ArticleQuery, scan: search.Scan) -> list[ColumnElement[bool]]:
    out = []
    if query.entity_type is not None and not query.entities:
        out.append(_Lookup(article_entities, {"type": query.entity_type}).holds_for(scan.article_id))
    if query.source is not None:
        out.append(articles.c.source == query.source)
    if query.language is not None:
        out.append(articles.c.language == query.language)
    if query.since is not None:
        out.append(scan.time >= query.since)
    if query.until is not None:
        out.append(scan.time < query.until)
    return out


async def list_articles(
    conn: AsyncConnection, *, query: ArticleQuery
) -> tuple[list[EnrichedArticle], str | None]:
    """Return one page of matching articles and the cursor of the next page (None on the last)."""
    text = query.text
    scan = await _scan(conn, query, text)
    where = scan.where + _filters(query, scan)
    keys = [scan.time, scan.article_id] if scan.score is None else [scan.score, scan.time, scan.article_id]
    if query.cursor:
        where.append(sa.tuple_(*keys) < sa.tuple_(*_cursor_values(query, text, keys)))
    names = ["score", "sort_time", "article_id"][-len(keys) :]
    # Order and cut the page on the keys alone; read the (large) documents of that page only.
    page_keys = (
        sa.select(*(k.label(n) for k, n in zip(keys, names, strict=True)))
        .select_from(scan.source)
        .where(*where)
        .order_by(*(k.desc() for k in keys))
        .limit(query.limit + 1)
        .subquery("page")
    )
    columns = [page_keys.c[n] for n in names]
    stmt = (
        sa.select(*columns, articles.c.doc)
        .join_from(page_keys, articles, articles.c.id == page_keys.c.article_id)
        .order_by(*(c.desc() for c in columns))
    )
    rows = (await conn.execute(stmt)).all()
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return [article_of(r.doc) for r in page], (_next_cursor(page[-1], text) if more else None)


def _first_type_only() -> ColumnElement[bool]:
    """Keep one lookup row per article when a name is filed under two entity types."""
    other = article_entities.alias("other_type")
    return ~sa.exists().where(
        other.c.article_id == article_entities.c.article_id,
        other.c.name == article_entities.c.name,
        other.c.type < article_entities.c.type,
    )


def _cursor_values(
    query: ArticleQuery, text: search.TextQuery | None, keys: list[ColumnElement[Any]]
) -> list[ColumnElement[Any]]:
    assert query.cursor is not None
    if query.sort == "relevance" and text is not None:
        score, when, last = cursors.decode_relevance_cursor(query.cursor, text.fingerprint())
        values: list[Any] = [score, when, last]
    else:
        when, last = cursors.decode_cursor(query.cursor)
        values = [when, last]
    return [sa.literal(v, type_=k.type) for k, v in zip(keys, values, strict=True)]


def _next_cursor(row: Any, text: search.TextQuery | None) -> str:
    time, article_id = row[-3], row[-2]
    if len(row) == 4 and text is not None:
        return cursors.encode_relevance_cursor(row[0], time, article_id, text.fingerprint())
    return cursors.encode_cursor(time, article_id)


def article_of(doc: Any) -> EnrichedArticle:
    """The stored document (JSON text, or decoded by the driver) as the contract's article."""
    if isinstance(doc, str | bytes):
        return EnrichedArticle.model_validate_json(doc)
    return EnrichedArticle.model_validate(doc)
