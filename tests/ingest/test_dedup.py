"""The de-duplication window: hashing and bucketing alone, then the publisher against a real Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.contracts import EnrichedArticle, Enrichment, RawArticle, raw_stream
from services.ingest.dedup import DedupWindow, id_hash
from services.ingest.publisher import Publisher
from services.ingest.settings import IngestSettings
from services.runtime import codec
from services.store.db import repository
from services.store.db.engine import create_engine, upgrade
from tests.factories import BASE_TIME, raw_article
from tests.harness import eventually

DAY = 86_400.0
INT64 = (-(1 << 63), (1 << 63) - 1)


class Clock:
    """A clock the test moves by hand, in Unix seconds."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------------------------------------------
# Hashing and bucketing


def test_the_hash_is_stable_and_a_signed_64_bit_integer() -> None:
    # Pinned: a changed hash would forget every id of the window on upgrade.
    assert id_hash("0123456789abcdef") == (-4624992156940534523, 12992202426522391531)
    member, spread = id_hash("fedcba9876543210")
    assert INT64[0] <= member <= INT64[1]
    assert 0 <= spread < 1 << 64
    assert id_hash("fedcba9876543210") == (member, spread)


def test_an_id_keeps_its_bucket_and_member_from_one_period_to_the_next() -> None:
    dedup = DedupWindow("news", timedelta(days=2), 64)
    start = 20_000 * 2 * DAY  # the first second of period 20000
    now, later = dedup.slot("0123456789abcdef", start), dedup.slot("0123456789abcdef", start + 2 * DAY)

    bucket = now.current.rsplit(":", 1)[1]
    assert now.current == f"news:dedup:20000:{bucket}"
    assert now.previous == f"news:dedup:19999:{bucket}"
    assert later.previous == now.current
    assert later.member == now.member


@pytest.mark.parametrize(
    ("into_period", "ttl"),
    [
        (0.0, 4 * DAY),
        (1.0, 4 * DAY - 1),
        (DAY, 3 * DAY),
        (2 * DAY - 1, 2 * DAY + 1),
        (2 * DAY - 0.25, 2 * DAY + 1),
    ],
)
def test_a_bucket_lives_until_the_next_period_ends(into_period: float, ttl: float) -> None:
    dedup = DedupWindow("news", timedelta(days=2), 64)
    assert dedup.slot("a", 20_000 * 2 * DAY + into_period).ttl == ttl


def test_ids_spread_evenly_so_buckets_stay_far_below_the_intset_limit() -> None:
    dedup = DedupWindow("news", timedelta(days=2), 512)
    sizes = Counter(dedup.slot(f"{n:016x}", 0.0).current for n in range(100_000))
    assert len(sizes) == 512
    assert max(sizes.values()) < 300  # ~195 on average; Redis keeps up to 512 members as an intset


@pytest.mark.parametrize(
    ("window", "buckets"), [(timedelta(0), 1), (timedelta(milliseconds=500), 1), (timedelta(days=1), 0)]
)
def test_a_window_under_a_second_or_without_buckets_is_refused(window: timedelta, buckets: int) -> None:
    with pytest.raises(ValueError, match="at least one"):
        DedupWindow("news", window, buckets)


def test_the_window_setting_reads_durations_and_refuses_nonsense() -> None:
    assert IngestSettings().dedup_window == timedelta(days=2)
    assert IngestSettings(dedup_window="PT12H").dedup_window == timedelta(hours=12)
    assert IngestSettings(dedup_window="3600").dedup_window == timedelta(hours=1)
    for nonsense in ("0", "PT0S", "0.5", timedelta(seconds=-5)):
        with pytest.raises(ValidationError, match="must be at least one second"):
            IngestSettings(dedup_window=nonsense)
    with pytest.raises(ValidationError):
        IngestSettings(dedup_buckets=0)


# ---------------------------------------------------------------------------------------------------------
# The publisher on a real Redis


async def _dedup_keys(redis: Redis, prefix: str) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=f"{prefix}:dedup:*")]


async def test_a_repost_within_the_window_is_a_duplicate_even_across_a_period_boundary(
    redis: Redis, prefix: str
) -> None:
    clock = Clock(20_000 * 2 * DAY + 2 * DAY - 1)  # the last second of a period
    publisher = Publisher(redis, prefix, clock=clock)
    article = raw_article()

    assert await publisher.publish([article]) == ["accepted"]
    assert await publisher.publish([article, article]) == ["duplicate", "duplicate"]
    clock.now += 2 * DAY - 1  # next period, one window after the first post: in the previous bucket
    assert await publisher.publish([article]) == ["duplicate"]
    assert await redis.xlen(raw_stream(prefix)) == 1


async def test_a_batch_with_the_same_id_twice_publishes_it_once(redis: Redis, prefix: str) -> None:
    article, other = raw_article(), raw_article()
    publisher = Publisher(redis, prefix)
    assert await publisher.publish([article, other, article]) == ["accepted", "accepted", "duplicate"]
    assert await redis.xlen(raw_stream(prefix)) == 2


async def test_a_repost_after_the_window_is_published_again_and_stored_once(
    redis: Redis, prefix: str, sqlite_url: str
) -> None:
    clock = Clock(20_000.0 * 60)
    publisher = Publisher(redis, prefix, window=timedelta(minutes=1), clock=clock)
    first = raw_article()
    assert await publisher.publish([first]) == ["accepted"]

    clock.now += 120  # two windows later: neither bucket read now holds the id
    repost = first.model_copy(update={"received_at": BASE_TIME + timedelta(minutes=2)})
    assert await publisher.publish([repost]) == ["accepted"]
    assert await publisher.publish([repost]) == ["duplicate"]  # remembered again from now on

    entries = await redis.xrange(raw_stream(prefix))
    published = [codec.decode(fields, RawArticle).body for _, fields in entries]
    assert [a.id for a in published] == [first.id, first.id]
    # The store's upsert by id is the guard behind the window: both enrichments make one article.
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        for n, article in enumerate(published):
            await _store(engine, _enriched(article, minutes=n))
        async with engine.connect() as conn:
            stored, _ = await repository.list_articles(conn, query=repository.ArticleQuery(limit=10))
    finally:
        await engine.dispose()
    assert [a.id for a in stored] == [first.id]
    assert stored[0].received_at == repost.received_at  # the later enrichment replaced the earlier


def _enriched(article: RawArticle, *, minutes: int) -> EnrichedArticle:
    return EnrichedArticle.model_validate(
        {
            **article.model_dump(),
            "enrichment": Enrichment(version="test-1"),
            "enriched_at": BASE_TIME + timedelta(minutes=10 + minutes),
        }
    )


async def _store(engine: AsyncEngine, article: EnrichedArticle) -> None:
    async with engine.begin() as conn:
        await repository.upsert_articles(conn, batch=[article])


async def test_every_bucket_carries_a_ttl_of_at_most_two_windows(redis: Redis, prefix: str) -> None:
    publisher = Publisher(redis, prefix, window=timedelta(hours=1), buckets=4)
    await publisher.publish([raw_article() for _ in range(20)])

    keys = await _dedup_keys(redis, prefix)
    assert keys
    for key in keys:
        assert 0 < await redis.ttl(key) <= 2 * 3600


async def test_buckets_stay_intsets(redis: Redis, prefix: str) -> None:
    publisher = Publisher(redis, prefix, buckets=8)
    articles = [raw_article() for _ in range(2400)]  # ~300 ids a bucket, under the limit of 512
    for start in range(0, len(articles), 400):
        assert set(await publisher.publish(articles[start : start + 400])) == {"accepted"}

    keys = await _dedup_keys(redis, prefix)
    assert len(keys) == 8
    assert sum([await redis.scard(k) for k in keys]) == len(articles)
    assert {await redis.object("encoding", k) for k in keys} == {b"intset"}


async def test_buckets_vanish_once_the_window_has_passed(redis: Redis, prefix: str) -> None:
    publisher = Publisher(redis, prefix, window=timedelta(seconds=1), buckets=2)
    await publisher.publish([raw_article() for _ in range(10)])
    assert await _dedup_keys(redis, prefix)

    async def gone() -> bool:
        return not await _dedup_keys(redis, prefix)

    await eventually(gone, seconds=10, interval=0.2, what="the buckets to expire")
    assert await redis.xlen(raw_stream(prefix)) == 10  # the stream is not the window's to trim


async def test_concurrent_posts_of_one_id_publish_it_once(redis: Redis, prefix: str) -> None:
    publisher = Publisher(redis, prefix)
    article = raw_article()
    outcomes = await asyncio.gather(*(publisher.publish([article]) for _ in range(10)))
    assert sorted(o for [o] in outcomes) == ["accepted"] + ["duplicate"] * 9
    assert await redis.xlen(raw_stream(prefix)) == 1
