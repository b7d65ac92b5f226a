"""Throughput of the stream runtime: how fast a stage drains its consumer group, beside bare redis-py.

Four consumers drain the same backlog of enriched articles (BBC texts with made-up entities, written
as the pipeline writes them) from a stream of their own on a real Redis:

- baseline: XREADGROUP and XACK in a loop with redis-py, nothing decoded;
- faststream: a FastStream batch subscriber delivering typed articles (``list[EnrichedArticle]``) through
  a message format that reads the JSON envelope, acknowledged per batch: the other way to read;
- runtime: the stage worker as the services run it, with a no-op stage (read, decode once, ack);
- store: the same runner writing every batch to a fresh SQLite database, as the store does.

Figures are entries per second and ratios to the baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage
from faststream.redis.parser import MessageFormat
from redis.asyncio import Redis

from bench.query import make_article, read_texts
from services.contracts import ENRICHED_EVENT, STORE, STORE_GROUP, EnrichedArticle, enriched_stream
from services.runtime import codec
from services.runtime.worker import stage_worker
from services.store.db import repository
from services.store.db.engine import create_engine, migrate
from services.store.settings import StoreSettings

Process = Callable[[Sequence[Any]], Awaitable[None]]


async def fill(redis: Redis, stream: str, articles: list[EnrichedArticle]) -> None:
    """Write the backlog as the enrich stage writes it, and create the store group at its start."""
    for start in range(0, len(articles), 500):
        async with redis.pipeline(transaction=False) as pipe:
            for article in articles[start : start + 500]:
                pipe.xadd(stream, codec.entry(article, event_type=ENRICHED_EVENT, correlation_id=article.id))  # type: ignore[arg-type]
            await pipe.execute()
    await redis.xgroup_create(stream, STORE_GROUP, id="0", mkstream=True)


async def baseline(redis: Redis, stream: str, count: int, batch: int) -> float:
    """Drain with bare XREADGROUP + XACK; return seconds."""
    start, done = time.perf_counter(), 0
    while done < count:
        answer: Any = await redis.xreadgroup(STORE_GROUP, "bench", {stream: ">"}, count=batch, block=1000)
        ids = [entry_id for _, entries in answer or [] for entry_id, _ in entries]
        if ids:
            await redis.xack(stream, STORE_GROUP, *ids)
        done += len(ids)
    return time.perf_counter() - start


async def through_runtime(redis_url: str, prefix: str, count: int, batch: int, process: Process) -> float:
    """Drain with the services' stage worker; return seconds until every entry is acknowledged."""
    settings = StoreSettings(redis_url=redis_url, stream_prefix=prefix, batch_size=batch, poll_ms=100)
    redis = Redis.from_url(redis_url)
    worker = stage_worker(settings, STORE, redis=redis, process=process)
    stream = enriched_stream(prefix)
    start = time.perf_counter()
    await worker.start()
    try:
        while True:
            groups = await redis.xinfo_groups(stream)
            group = next(g for g in groups if g["name"] in (STORE_GROUP, STORE_GROUP.encode()))
            if group["lag"] == 0 and group["pending"] == 0:
                break
            await asyncio.sleep(0.01)
        return time.perf_counter() - start
    finally:
        await worker.stop()
        await redis.aclose()


class _Envelope(MessageFormat):
    """FastStream reading the project's JSON envelope: the body handed on for FastStream to decode."""

    @classmethod
    def parse(cls, data: bytes | dict[bytes, bytes]) -> tuple[bytes, dict[str, Any]]:
        raw = data.get(b"__data__", b"{}") if isinstance(data, dict) else data
        envelope = orjson.loads(raw)
        return orjson.dumps(envelope["body"]), {**envelope["headers"], "content-type": "application/json"}


async def through_faststream(redis_url: str, prefix: str, count: int, batch: int) -> float:
    """Drain with a FastStream batch subscriber that delivers typed articles, acking each batch."""
    envelope: Any = _Envelope  # FastStream types the format as its abstract base
    broker = RedisBroker(redis_url, message_format=envelope, log_level=logging.WARNING)
    stream = enriched_stream(prefix)
    done = asyncio.Event()
    seen = 0

    @broker.subscriber(
        stream=StreamSub(
            stream, group=STORE_GROUP, consumer="bench", batch=True, max_records=batch, polling_interval=100
        ),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_batch(articles: list[EnrichedArticle], msg: RedisBatchStreamMessage) -> None:
        nonlocal seen
        await msg.ack()
        seen += len(articles)
        if seen >= count:
            done.set()

    start = time.perf_counter()
    await broker.start()
    try:
        await done.wait()
        return time.perf_counter() - start
    finally:
        await broker.stop()


async def run(args: argparse.Namespace) -> None:
    texts = read_texts()
    rnd = random.Random(args.seed)
    articles = [make_article(n, texts, rnd) for n in range(args.articles)]
    size = sum(len(codec.encode(a, event_type=ENRICHED_EVENT)) for a in articles) // len(articles)
    print(f"{len(articles)} enriched articles, {size} bytes per entry on average, batches of {args.batch}")
    redis = Redis.from_url(args.redis_url)
    results: dict[str, float] = {}
    try:
        for name in ("baseline", "faststream", "runtime", "store"):
            prefix = f"wsbench-{uuid.uuid4().hex[:8]}"
            stream = enriched_stream(prefix)
            await fill(redis, stream, articles)
            try:
                if name == "baseline":
                    seconds = await baseline(redis, stream, len(articles), args.batch)
                elif name == "faststream":
                    seconds = await through_faststream(args.redis_url, prefix, len(articles), args.batch)
                elif name == "runtime":
                    seconds = await through_runtime(
                        args.redis_url, prefix, len(articles), args.batch, _nothing
                    )
                else:
                    seconds = await _into_sqlite(args.redis_url, prefix, len(articles), args.batch)
            finally:
                await redis.delete(stream, f"{stream}:{STORE_GROUP}:failures")
            results[name] = len(articles) / seconds
    finally:
        await redis.aclose()
    base = results["baseline"]
    for name, rate in results.items():
        print(f"{name:<9} {rate:9.0f} entries/s   {rate / base:5.2f} of the baseline")


async def _nothing(items: Sequence[Any]) -> None:
    return None


async def _into_sqlite(redis_url: str, prefix: str, count: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate(url)
        engine = create_engine(url)

        async def persist(items: Sequence[Any]) -> None:
            async with engine.begin() as conn:
                await repository.upsert_articles(conn, batch=[i.value for i in items])

        try:
            return await through_runtime(redis_url, prefix, count, batch, persist)
        finally:
            await engine.dispose()


def main() -> None:
    """Drain the same backlog three ways and print entries per second and ratios."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=64, help="entries per read, as BATCH_SIZE")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--seed", type=int, default=7)
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
