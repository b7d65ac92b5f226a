"""Write protection of ingest, against a real Redis: API keys, per-client rate limits, backpressure."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from services.contracts import ENRICH_GROUP, raw_stream
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
            client._transport.app.state.ingest.backpressure._read_at = float("-inf")  # type: ignore[attr-defined]
    assert [a.status_code for a in answers] == [202, 202, 202, 503, 503]
    assert answers[3].headers["Retry-After"] == "5"
    assert "behind" in answers[3].json()["detail"]
    assert await redis.xlen(stream) == 3


async def test_lag_counts_what_the_group_has_not_read(redis: Redis, prefix: str) -> None:
    stream = raw_stream(prefix)
    pressure = Backpressure(redis, prefix, max_lag=10, refresh_s=0)
    assert await pressure.lag() == 0  # no stream yet
    for i in range(4):
        await redis.xadd(stream, {"n": str(i)})
    assert await pressure.lag() == 4  # no group yet: everything waits
    await redis.xgroup_create(stream, ENRICH_GROUP, id="0")
    await redis.xreadgroup(ENRICH_GROUP, "c", {stream: ">"}, count=3)
    assert await pressure.lag() == 1
    assert not await pressure.overloaded()
    assert await Backpressure(redis, prefix, max_lag=1, refresh_s=0).overloaded()
    assert not await Backpressure(redis, prefix, max_lag=0, refresh_s=0).overloaded()  # off


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
