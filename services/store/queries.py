"""The article listing: filters that combine, full-text search, and keyset pages in a stable order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from services.contracts import EntityType
from services.store import cursors, search
from services.store.errors import BadFilter
from services.store.tables import article_entities, article_tags, article_topics, articles
from services.taxonomy import is_topic_code

Sort = Literal["published", "relevance"]
ENTITY_TYPES: tuple[str, ...] = get_args(EntityType)
_PROBE = 5000  # rows counted per lookup filter when choosing which one drives the scan


@dataclass(frozen=True)
class ArticleQuery:
    """Filters of the article list; every given filter must hold, repeated ones all of them."""

    entities: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source: str | None = None
    limit: int = 20
    cursor: str | None = None
    q: str | None = None
    entity_type: str | None = None
    topics: tuple[str, ...] = ()
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: Sort = "published"


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


def _validate(query: ArticleQuery) -> search.TextQuery | None:
    if query.sort not in get_args(Sort):
        raise BadFilter(f"sort must be one of {', '.join(get_args(Sort))}")
    if query.entity_type is not None and query.entity_type not in ENTITY_TYPES:
        raise BadFilter(f"entity_type must be one of {', '.join(ENTITY_TYPES)}")
    for code in query.topics:
        if not is_topic_code(code):
            raise BadFilter(f"topic {code!r} is not an IPTC Media Topic code such as medtop:11000000")
    since, until = cursors.utc(query.since), cursors.utc(query.until)
    if since is not None and until is not None and until < since:
        raise BadFilter("until is before since: give a time range that runs forward")
    text = search.parse(query.q) if query.q is not None else None
    if query.sort == "relevance" and text is None:
        raise BadFilter("sort=relevance ranks a full-text search: give q as well")
    return text


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
        out.append(scan.time >= cursors.utc(query.since))
    if query.until is not None:
        out.append(scan.time < cursors.utc(query.until))
    return out


async def list_articles(
    conn: AsyncConnection, *, query: ArticleQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """Return one page of matching articles and the cursor of the next page (None on the last)."""
    text = _validate(query)
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
    return [_doc(r.doc) for r in page], (_next_cursor(page[-1], text) if more else None)


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


def _doc(value: Any) -> dict[str, Any]:
    return orjson.loads(value) if isinstance(value, str | bytes) else dict(value)
