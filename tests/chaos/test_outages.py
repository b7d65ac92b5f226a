"""Redis restarts and a database outage mid-stream: articles wait, then all arrive, once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.contracts import STORE_GROUP, dead_stream, enriched_stream
from tests.chaos.conftest import RedisServer, articles, pending, xlen
from tests.chaos.proxy import TcpProxy
from tests.harness import Pipeline, wait_for

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def test_redis_restart_with_aof_loses_nothing(
    pipeline: Pipeline, own_redis: RedisServer, report: dict[str, Any]
) -> None:
    pipeline.start_all()
    before = pipeline.post(articles("aof-before", 300))
    wait_for(lambda: len(pipeline.stored_ids()) >= 10, timeout=120, what="the first articles stored")

    away_s = own_redis.restart(keep_data=True)
    after = pipeline.post(articles("aof-after", 200))  # retried while ingest answers 503
    recovery_s = pipeline.wait_stored(before + after, timeout=240)

    assert sorted(pipeline.listed_ids("aof-before")) == sorted(set(before))
    assert sorted(pipeline.listed_ids("aof-after")) == sorted(set(after))
    assert xlen(own_redis.url, dead_stream(pipeline.prefix)) == 0
    report.update(
        test="Redis restarted mid-stream, AOF on",
        sent=500,
        stored=len(pipeline.stored_ids()),
        dead=0,
        redis_away_s=round(away_s, 1),
        seconds_to_all_stored=round(recovery_s, 1),
    )


def test_redis_restart_without_persistence_recovers_the_groups(
    pipeline: Pipeline, own_redis: RedisServer, report: dict[str, Any]
) -> None:
    pipeline.start_all()
    first = pipeline.post(articles("wiped-before", 20))
    pipeline.wait_stored(first, timeout=120)

    own_redis.restart(keep_data=False)  # streams, groups and the de-duplication window are gone
    began = time.monotonic()
    after = pipeline.post(articles("wiped-after", 100))
    recovery_s = pipeline.wait_stored(after, timeout=180)

    assert sorted(pipeline.listed_ids("wiped-after")) == sorted(set(after))
    logs = "".join(s.log() for s in pipeline.services)
    assert "was lost" in logs and "recreated it" in logs
    metrics = httpx.get(f"{pipeline.store}/metrics", timeout=5).text
    assert 'wirestream_group_recreated_total{stage="store"} 1.0' in metrics
    report.update(
        test="Redis restarted without persistence",
        sent_after_restart=100,
        stored_after_restart=100,
        seconds_from_restart_to_all_stored=round(time.monotonic() - began, 1),
        wait_after_posting_s=round(recovery_s, 1),
    )


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test alone, dropped afterwards."""
    name = f"wschaos_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    yield name
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def _count_rows(database: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
        try:
            return int(await conn.fetchval("SELECT count(*) FROM articles"))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_database_outage_keeps_entries_pending_until_it_returns(
    tmp_path: Path, own_redis: RedisServer, pg_database: str, report: dict[str, Any]
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    pipe = Pipeline(
        own_redis.url, tmp_path, database_url=f"postgresql://postgres@127.0.0.1:{proxy.port}/{pg_database}"
    )
    try:
        pipe.start_all()
        first = pipe.post(articles("pg-before", 50))
        wait_for(lambda: _count_rows(pg_database) == 50, timeout=120, what="the first 50 rows")

        proxy.cut()
        during = pipe.post(articles("pg-during", 150))
        # Enrichment goes on; the store holds what it cannot commit as pending, acknowledging nothing.
        wait_for(
            lambda: pending(own_redis.url, enriched_stream(pipe.prefix), STORE_GROUP) == 150,
            timeout=120,
            what="all 150 new entries read by the store and none acknowledged",
        )
        wait_for(
            lambda: xlen(own_redis.url, enriched_stream(pipe.prefix)) >= 200,
            timeout=120,
            what="every article enriched",
        )
        assert _count_rows(pg_database) == 50
        assert httpx.get(f"{pipe.store}/readyz", timeout=10).status_code == 503
        outage_pending = pending(own_redis.url, enriched_stream(pipe.prefix), STORE_GROUP)

        proxy.restore()
        began = time.monotonic()
        wait_for(lambda: _count_rows(pg_database) == 200, timeout=180, interval=0.5, what="all 200 rows")
        recovery_s = time.monotonic() - began
        assert sorted(pipe.listed_ids("pg-during")) == sorted(set(during))
        assert sorted(pipe.listed_ids("pg-before")) == sorted(set(first))
        assert xlen(own_redis.url, dead_stream(pipe.prefix)) == 0
        wait_for(
            lambda: pending(own_redis.url, enriched_stream(pipe.prefix), STORE_GROUP) == 0,
            timeout=60,
            what="the store group's pending list to drain",
        )
        report.update(
            test="database unreachable (PostgreSQL behind a cut proxy)",
            sent=200,
            stored=200,
            dead=0,
            pending_during_outage=outage_pending,
            seconds_from_restore_to_all_stored=round(recovery_s, 1),
        )
    finally:
        pipe.stop_all()
        proxy.close()
