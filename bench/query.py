"""Query latency of the store at scale, on SQLite and PostgreSQL, against a primary-key baseline.

Generates articles from the BBC texts (read in place), writes them through the store's repository in
large transactions, then times, interleaved so noise hits every kind alike: a full-text query (newest
first and by relevance), an entity filter, a topic + date-range filter, page 50 of the newest-first
list, the entity, autocomplete and topic counts, and as the baseline a lookup by id. Each figure is
printed in milliseconds and as a ratio to the baseline of the same run.

    python -m bench.query                     # 100,000 articles, both engines
    python -m bench.query --articles 5000     # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import sqlite3
import statistics
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import data_dir
from services.contracts import EnrichedArticle
from services.store.db import aggregates, repository
from services.store.db.engine import create_engine, migrate
from services.store.db.repository import ArticleQuery

CATEGORY_TOPICS = {
    "business": ["medtop:04000000", "medtop:20000344", "medtop:20000385"],
    "entertainment": ["medtop:01000000", "medtop:20000002", "medtop:20000011"],
    "politics": ["medtop:11000000", "medtop:20000574", "medtop:20000621"],
    "sport": ["medtop:15000000", "medtop:20000822", "medtop:20001068"],
    "tech": ["medtop:13000000", "medtop:20000225", "medtop:20000763"],
}
QUERIES = ("gordon brown", "oil prices", "mobile phone", "chelsea", "interest rates", "election campaign",
           "film festival", "broadband", "world cup", "tony blair", "stock market", "video games",
           "house prices", "champions league", "software")  # fmt: skip
PAIR = re.compile(r"\b([A-Z][a-z]{2,} [A-Z][a-z]{2,})\b")
TYPES = ("PERSON", "ORG", "LOCATION", "MISC")
END = datetime(2024, 12, 31, tzinfo=UTC)
SPAN_S = 2 * 365 * 86400
BATCH = 2000
TARGET_MS = 50.0
TARGETED = {"full-text q, newest first", "entity filter", "topic + 30-day range", "page 50 (cursor)"}


@dataclass(frozen=True)
class Text:
    """One BBC article, split for reuse."""

    category: str
    title: str
    paragraphs: list[str]
    pairs: list[tuple[str, int]]


def read_texts() -> list[Text]:
    """Read every BBC article once; one file is not valid UTF-8, so undecodable bytes are replaced."""
    out = []
    for path in sorted(data_dir("bbc").glob("*/*.txt")):
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()] or [title]
        pairs = Counter(PAIR.findall(body)).most_common(10)
        out.append(Text(path.parent.name, title.strip() or "untitled", paragraphs, pairs))
    return out


def make_article(n: int, texts: list[Text], rnd: random.Random) -> EnrichedArticle:
    """Build article ``n``: a BBC text plus a paragraph of a sibling, with varied metadata."""
    text = rnd.choice(texts)
    extra = rnd.choice(texts)
    body = "\n\n".join([*text.paragraphs, rnd.choice(extra.paragraphs)])
    published = END - timedelta(seconds=rnd.randrange(SPAN_S))
    chosen = text.pairs[: rnd.randint(4, 10)]
    entities = [
        {"name": name, "type": TYPES[zlib.crc32(name.encode()) % 4], "count": count, "salience": 1 / (i + 1),
         "mentions": [{"start": 0, "end": len(name), "text": name}]}
        for i, (name, count) in enumerate(chosen)
    ]  # fmt: skip
    codes = CATEGORY_TOPICS[text.category]
    topics = [
        {"code": c, "label": "", "score": round(rnd.uniform(0.3, 1), 3)} for c in rnd.sample(codes[1:], 1)
    ]
    tags = [text.category.title(), f"tag-{int(rnd.paretovariate(1.2)) % 300:03d}"]
    return EnrichedArticle.model_validate(
        {
            "id": f"bench{n:011d}",
            "title": text.title,
            "body": body,
            "summary": text.paragraphs[0][:300],
            "source": f"source-{int(rnd.paretovariate(1.0)) % 40:02d}",
            "language": "en" if rnd.random() < 0.95 else rnd.choice(["fr", "de", "es"]),
            "published_at": published if rnd.random() < 0.97 else None,
            "received_at": published + timedelta(minutes=5),
            "enriched_at": published + timedelta(minutes=6),
            "entities": entities,
            "topics": topics,
            "tags": tags,
            "enrichment": {"version": "bench"},
        }
    )


async def load(engine: AsyncEngine, count: int, texts: list[Text], seed: int) -> float:
    """Write ``count`` articles in transactions of BATCH; return articles per second."""
    rnd = random.Random(seed)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        batch = [make_article(n, texts, rnd) for n in range(start, min(start + BATCH, count))]
        async with engine.begin() as conn:
            await repository.upsert_articles(conn, batch=batch)
    return count / (time.perf_counter() - started)


async def _list(engine: AsyncEngine, query: ArticleQuery) -> None:
    async with engine.connect() as conn:
        await repository.list_articles(conn, query=query)


async def _count(engine: AsyncEngine, count: Callable[..., Awaitable[Any]], **kwargs: Any) -> None:
    async with engine.connect() as conn:
        await count(conn, **kwargs)


async def _page_cursor(engine: AsyncEngine, page: int) -> str:
    cursor: str | None = None
    for _ in range(page - 1):
        async with engine.connect() as conn:
            _, cursor = await repository.list_articles(conn, query=ArticleQuery(cursor=cursor))
    assert cursor is not None, "not enough articles for the deep page"
    return cursor


async def measure(engine: AsyncEngine, count: int, rounds: int, seed: int) -> dict[str, list[float]]:
    """Time each kind of query ``rounds`` times, interleaved; return milliseconds per kind."""
    rnd = random.Random(seed + 1)
    async with engine.connect() as conn:
        names = [r[0] for r in await conn.execute(sa.text("SELECT name FROM article_entities LIMIT 20000"))]
    deep = await _page_cursor(engine, 50)

    async def by_id() -> None:
        async with engine.connect() as conn:
            await repository.get_article(conn, article_id=f"bench{rnd.randrange(count):011d}")

    def window() -> dict[str, Any]:
        since = END - timedelta(seconds=rnd.randrange(SPAN_S))
        code = rnd.choice(rnd.choice(list(CATEGORY_TOPICS.values())))
        return {"topics": (code,), "since": since, "until": since + timedelta(days=30)}

    kinds: dict[str, Callable[[], Awaitable[None]]] = {
        "get by id (baseline)": by_id,
        "full-text q, newest first": lambda: _list(engine, ArticleQuery(q=rnd.choice(QUERIES))),
        "full-text q, sort=relevance": lambda: _list(
            engine, ArticleQuery(q=rnd.choice(QUERIES), sort="relevance")
        ),
        "entity filter": lambda: _list(engine, ArticleQuery(entities=(rnd.choice(names),))),
        "topic + 30-day range": lambda: _list(engine, ArticleQuery(**window())),
        "page 50 (cursor)": lambda: _list(engine, ArticleQuery(cursor=deep)),
        "top entities": lambda: _count(engine, aggregates.top_entities),
        "entity autocomplete (3 letters)": lambda: _count(
            engine, aggregates.top_entities, prefix=rnd.choice(names)[:3]
        ),
        "top topics": lambda: _count(engine, aggregates.top_topics),
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for round_ in range(rounds + 5):
        for kind, run in kinds.items():
            started = time.perf_counter()
            await run()
            if round_ >= 5:  # the first rounds warm caches and pools
                times[kind].append((time.perf_counter() - started) * 1000)
    return times


def report(engine_name: str, version: str, times: dict[str, list[float]]) -> list[str]:
    """Format p50/p95 and their ratios to the baseline as Markdown rows."""
    base = statistics.median(times["get by id (baseline)"])
    rows = []
    for kind, values in times.items():
        p50, p95 = statistics.median(values), statistics.quantiles(values, n=20)[-1]
        ok = ("yes" if p95 <= TARGET_MS else "NO") if kind in TARGETED else "-"
        ratios = f"{p50 / base:.1f}x | {p95 / base:.1f}x"
        rows.append(f"| {engine_name} {version} | {kind} | {p50:.2f} | {p95:.2f} | {ratios} | {ok} |")
    return rows


async def run_engine(name: str, url: str, args: argparse.Namespace, texts: list[Text]) -> list[str]:
    """Migrate, load, analyse and measure one database."""
    await migrate(url)
    engine = create_engine(url)
    try:
        rate = await load(engine, args.articles, texts, args.seed)
        async with engine.begin() as conn:
            if name == "postgresql":
                await conn.execute(sa.text("ANALYZE"))  # what autovacuum does after a bulk load
            version_sql = "SELECT sqlite_version()" if name == "sqlite" else "SHOW server_version"
            version = (await conn.execute(sa.text(version_sql))).scalar_one()
        print(f"{name}: loaded {args.articles} articles at {rate:,.0f} articles/s")
        times = await measure(engine, args.articles, args.rounds, args.seed)
    finally:
        await engine.dispose()
    rows = report(name, str(version).split()[0], times)
    print("\n".join(rows), flush=True)
    return rows


async def main_async(args: argparse.Namespace) -> None:
    """Run every requested engine and print the table with the machine's facts."""
    texts = read_texts()
    print(f"{len(texts)} BBC texts; {args.articles} articles; {args.rounds} timed rounds per query kind")
    rows: list[str] = []
    if "sqlite" in args.engines:
        with tempfile.TemporaryDirectory(prefix="ws-bench-") as tmp:
            rows += await run_engine("sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args, texts)
    if "postgresql" in args.engines:
        name = f"wsbench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
            rows += await run_engine("postgresql", f"{base}/{name}", args, texts)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(f"\nmachine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
          f"SQLite library {sqlite3.sqlite_version}")  # fmt: skip
    print("| engine | query | p50 ms | p95 ms | p50 / baseline | p95 / baseline | p95 <= 50 ms |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def main() -> None:
    """Parse the command line and run."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000, help="articles to store (default 100,000)")
    ap.add_argument("--rounds", type=int, default=200, help="timed runs of each query kind")
    ap.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    ap.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a database of the server; the benchmark creates and drops a database of its own there",
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    args.engines = {e.strip() for e in args.engines.split(",")}
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
