"""Write protection of ingest, against a real Redis: API keys, per-client rate limits, backpressure."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from services.contracts import ENRICH_GROUP, STORE_GROUP, enriched_stream, fetch_stream, raw_stream
from services.errors import Unavailable
from services.ingest.guards import Backpressure, RateLimiter
from services.ingest.settings import IngestSettings
from services.web.auth import key_matches, parse_keys
from tests.factories import article_fields
from tests.ingest.test_api import running

JSON = {"Content-Type": "application/json"}


def test_keys_are_parsed_and_compared_exactly() -> None:
    keys = parse_keys(" k-one, ,k-two,")
    assert keys == frozenset({"k-one", "k-two"})
    assert key_matches("k-two", keys)
    assert not key_matches("k-tw", keys)
    assert not key_matches("k-two ", keys)
    assert not key_matches("anything", frozenset())


async def test_writes_need_a_valid_key_and_errors_reveal_none(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    settings = IngestSettings(redis_url=redis_url, stream_prefix=prefix, ingest_api_keys="secret-1,secret-2")
    async with running(settings) as client:
        body = orjson.dumps(article_fields())
        missing = await client.post("/v1/articles", content=body, headers=JSON)
        wrong = await client.post(
            "/v1/articles", content=body, headers={**JSON, "Authorization": "Bearer nope"}
        )
        basic = await client.post(
            "/v1/articles", content=body, headers={**JSON, "Authorization": "Basic secret-1"}
        )
        batch = await client.post("/v1/articles/batch", content=b"[]", headers=JSON)
        assert await redis.xlen(raw_stream(prefix)) == 0
        good = await client.post(
            "/v1/articles", content=body, headers={**JSON, "Authorization": "Bearer secret-2"}
        )
        health = await client.get("/healthz")
    for answer in (missing, wrong, basic, batch):
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert b"secret" not in answer.content
    assert good.status_code == 202
    assert health.status_code == 200
    assert await redis.xlen(raw_stream(prefix)) == 1


async def test_rate_limit_refuses_with_retry_after_per_client(redis_url: str, prefix: str) -> None:
    settings = IngestSettings(
        redis_url=redis_url,
        stream_prefix=prefix,
        rate_limit_per_s=0.5,
        rate_limit_burst=3,
        ingest_api_keys="alice,bob",
    )
    async with running(settings) as client:
        alice = {**JSON, "Authorization": "Bearer alice"}
        codes = [
            (await client.post("/v1/articles", content=orjson.dumps(article_fields()), headers=alice))
            for _ in range(5)
        ]
        other = await client.post(
            "/v1/articles",
            content=orjson.dumps(article_fields()),
            headers={**JSON, "Authorization": "Bearer bob"},
        )
    assert [a.status_code for a in codes] == [202, 202, 202, 429, 429]
    assert int(codes[3].headers["Retry-After"]) >= 1
    assert "rate limit" in codes[3].json()["detail"]
    assert other.status_code == 202  # one client's burst never throttles another


async def test_token_bucket_refills_with_time(redis: Redis, prefix: str) -> None:
    limiter = RateLimiter(redis, prefix, rate=1000.0, burst=1)
    assert await limiter.retry_after("c") == 0
    # At 1000 tokens/s a new token is there within milliseconds: poll rather than sleep.
    for _ in range(1000):
        if await limiter.retry_after("c") == 0:
            break
    else:
        pytest.fail("the bucket never refilled")
    assert await RateLimiter(redis, prefix, rate=0, burst=1).retry_after("c") == 0  # off


async def test_backpressure_answers_503_while_enrichment_lags(
    redis_url: str, prefix: str, redis: Redis
) -> None:
    stream = raw_stream(prefix)
    await redis.xgroup_create(stream, ENRICH_GROUP, id="$", mkstream=True)
    settings = IngestSettings(redis_url=redis_url, stream_prefix=prefix, max_raw_lag=3)
    async with running(settings) as client:
        answers = []
        for _ in range(5):
            answers.append(
                await client.post("/v1/articles", content=orjson.dumps(article_fields()), headers=JSON)
            )
            client._transport.app.state.ingest.value.backpressure._read_at = float("-inf")  # type: ignore[attr-defined]
    assert [a.status_code for a in answers] == [202, 202, 202, 503, 503]
    assert answers[3].headers["Retry-After"] == "5"
    assert "behind" in answers[3].json()["detail"]
    assert await redis.xlen(stream) == 3


async def _refused(pressure: Backpressure, articles: int = 1) -> str | None:
    try:
        await pressure.check(articles)
    except Unavailable as exc:
        return str(exc.detail)
    return None


async def test_enrichment_behind_counts_what_it_has_not_acknowledged(redis: Redis, prefix: str) -> None:
    stream = raw_stream(prefix)
    settings = IngestSettings(stream_prefix=prefix, max_raw_lag=4)

    def pressure() -> Backpressure:
        return Backpressure(redis, settings, refresh_s=0)

    assert await _refused(pressure()) is None  # no stream yet
    for i in range(4):
        await redis.xadd(stream, {"n": str(i)})
    assert "enrichment is 4 articles behind" in (await _refused(pressure()) or "")  # no group: all waits
    await redis.xgroup_create(stream, ENRICH_GROUP, id="0")
    answer = await redis.xreadgroup(ENRICH_GROUP, "c", {stream: ">"}, count=3)
    assert "enrichment is 4 articles behind" in (await _refused(pressure()) or "")  # read is not done
    await redis.xack(stream, ENRICH_GROUP, *[entry_id for _, rows in answer for entry_id, _ in rows])
    assert await _refused(pressure(), articles=3) is None  # 1 behind + 3 = 4: the limit
    assert await _refused(pressure(), articles=4) is not None


async def test_the_store_behind_is_named_before_enrichment(redis: Redis, prefix: str) -> None:
    enriched = enriched_stream(prefix)
    await redis.xgroup_create(enriched, STORE_GROUP, id="0", mkstream=True)
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(900):  # 90% of the smallest cap, none of it stored
            pipe.xadd(enriched, {"n": str(i)})
        await pipe.execute()
    settings = IngestSettings(stream_prefix=prefix, stream_maxlen=1000)
    assert await _refused(Backpressure(redis, settings, refresh_s=0)) == (
        "the store is 900 articles behind (not yet stored); retry later"
    )


async def test_a_protected_subscriber_behind_is_named(redis: Redis, prefix: str) -> None:
    enriched = enriched_stream(prefix)
    for group in (STORE_GROUP, "analytics"):
        await redis.xgroup_create(enriched, group, id="0", mkstream=True)
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(950):
            pipe.xadd(enriched, {"n": str(i)})
        await pipe.execute()
    await redis.xgroup_setid(enriched, STORE_GROUP, "$")  # the store is done with all of it
    settings = IngestSettings(stream_prefix=prefix, stream_maxlen=1000, protected_groups="analytics")
    assert "consumer group 'analytics' is 950 articles behind" in (
        await _refused(Backpressure(redis, settings, refresh_s=0)) or ""
    )
    unprotected = IngestSettings(stream_prefix=prefix, stream_maxlen=1000)
    assert await _refused(Backpressure(redis, unprotected, refresh_s=0)) is None


async def test_the_raw_stream_at_its_cap_refuses_even_when_nobody_is_behind(
    redis: Redis, prefix: str
) -> None:
    stream = raw_stream(prefix)
    await redis.xgroup_create(stream, ENRICH_GROUP, id="0", mkstream=True)
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.xadd(stream, {"n": str(i)})
        await pipe.execute()
    await redis.xgroup_setid(stream, ENRICH_GROUP, "$")  # read and acknowledged, not yet trimmed
    settings = IngestSettings(stream_prefix=prefix, stream_maxlen=1000, max_raw_lag=0)
    assert await _refused(Backpressure(redis, settings, refresh_s=0)) == (
        f"{stream} is at its cap of 1000 entries; retry later"
    )


async def test_redis_down_answers_503_and_publishes_nothing(prefix: str) -> None:
    from services.tools.local import free_port

    settings = IngestSettings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0", stream_prefix=prefix, max_raw_lag=0
    )
    async with running(settings) as client:
        answer = await client.post("/v1/articles", content=orjson.dumps(article_fields()), headers=JSON)
    assert answer.status_code == 503
    assert "Redis is unavailable" in answer.json()["detail"]
    assert answer.headers["Retry-After"] == "5"


async def test_pages_are_refused_while_page_fetching_has_the_cap_not_yet_fetched(
    redis: Redis, prefix: str
) -> None:
    pages = fetch_stream(prefix)
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(999):  # no feeds process has read any of them yet (no group: all of it waits)
            pipe.xadd(pages, {"n": str(i)})
        await pipe.execute()
    settings = IngestSettings(stream_prefix=prefix, stream_maxlen=1000)
    pressure = Backpressure(redis, settings, refresh_s=0)

    await pressure.check_pages(1)  # the last place in the queue
    with pytest.raises(Unavailable, match="page fetching is 999 pages behind"):
        await pressure.check_pages(2)
    assert await _refused(pressure) is None  # articles with a text of their own are not held back
