"""A stage down for longer than a stream's capacity: every article answered 202 is stored exactly once,
the rest are refused with 503, and no stream holds much more than its cap."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from redis import Redis

from services.contracts import dead_stream, enriched_stream, raw_stream
from tests.chaos.conftest import articles, xlen
from tests.harness import Pipeline, wait_for

CAP = 1000  # the smallest STREAM_MAXLEN: three caps of articles take minutes, not hours, to enrich
BATCH = 32  # the harness' BATCH_SIZE: one enrich batch may land past the check that let it in
SLACK = BATCH + 100  # plus the last node of 100 entries that approximate trimming keeps


@contextmanager
def peak_length(redis_url: str, stream: str) -> Iterator[list[int]]:
    """Sample the stream's length every 50 ms while the block runs; the list holds every sample."""
    samples, done = [0], threading.Event()

    def sample() -> None:
        with Redis.from_url(redis_url) as redis:
            while not done.is_set():
                samples.append(int(redis.xlen(stream)))
                done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join(5)


def flood(pipeline: Pipeline, tag: str, count: int) -> tuple[list[str], int, set[str]]:
    """Post ``count`` articles in batches of 100 as fast as ingest answers, each batch once.

    Returns the ids answered ``accepted``, how many were refused, and the 503 messages seen.
    """
    accepted: list[str] = []
    refused, reasons = 0, set()
    items = articles(tag, count)
    with httpx.Client(timeout=60) as client:
        for start in range(0, count, 100):
            chunk = items[start : start + 100]
            answer = client.post(
                f"{pipeline.ingest}/v1/articles/batch",
                content="\n".join(json.dumps(item) for item in chunk),
                headers={"Content-Type": "application/x-ndjson"},
            )
            if answer.status_code == 503:
                refused += len(chunk)
                reasons.add(answer.json()["detail"])
                assert answer.headers["Retry-After"]
                continue
            assert answer.status_code == 200, answer.text
            accepted += [item["id"] for item in answer.json()["items"] if item["status"] == "accepted"]
    return accepted, refused, reasons


@pytest.fixture
def capped(pipeline: Pipeline) -> Pipeline:
    pipeline.settings.update(STREAM_MAXLEN=str(CAP))
    return pipeline


def test_store_down_for_three_caps_of_articles(capped: Pipeline, report: dict[str, Any]) -> None:
    capped.start_all()
    store = next(s for s in capped.services if s.name == "store")
    assert store.stop() == 0

    with peak_length(capped.redis_url, enriched_stream(capped.prefix)) as lengths:
        accepted, refused, reasons = flood(capped, "store-down", 3 * CAP)
        wait_for(lambda: _settled(capped, raw_stream(capped.prefix)), timeout=300, what="enrich to pause")
        capped.start("store")
        seconds = capped.wait_stored(accepted, timeout=300)

    assert accepted and refused and len(accepted) + refused == 3 * CAP
    assert any("the store is" in reason for reason in reasons), reasons
    listed = capped.listed_ids("store-down")
    assert sorted(listed) == sorted(set(accepted)) and len(listed) == len(set(accepted))  # once each
    assert max(lengths) <= CAP + SLACK, max(lengths)
    assert xlen(capped.redis_url, dead_stream(capped.prefix)) == 0
    report.update(
        test="store down while three caps of articles were posted",
        cap=CAP,
        posted=3 * CAP,
        accepted=len(accepted),
        refused=refused,
        stored=len(listed),
        enriched_peak=max(lengths),
        seconds_to_store_after_restart=round(seconds, 1),
    )


def test_enrich_down_for_three_caps_of_articles(capped: Pipeline, report: dict[str, Any]) -> None:
    capped.start_all()
    enrich = next(s for s in capped.services if s.name == "enrich")
    assert enrich.stop() == 0

    with peak_length(capped.redis_url, raw_stream(capped.prefix)) as lengths:
        accepted, refused, reasons = flood(capped, "enrich-down", 3 * CAP)
        capped.start("enrich")
        seconds = capped.wait_stored(accepted, timeout=300)

    assert accepted and refused and len(accepted) + refused == 3 * CAP
    assert any("enrichment is" in reason for reason in reasons), reasons
    listed = capped.listed_ids("enrich-down")
    assert sorted(listed) == sorted(set(accepted)) and len(listed) == len(set(accepted))
    assert max(lengths) <= CAP, max(lengths)
    report.update(
        test="enrich down while three caps of articles were posted",
        cap=CAP,
        posted=3 * CAP,
        accepted=len(accepted),
        refused=refused,
        stored=len(listed),
        raw_peak=max(lengths),
        seconds_to_store_after_restart=round(seconds, 1),
    )


def test_a_protected_subscriber_group_is_waited_for(capped: Pipeline) -> None:
    capped.settings.update(PROTECTED_GROUPS="analytics")
    enriched = enriched_stream(capped.prefix)
    with Redis.from_url(capped.redis_url) as redis:
        redis.xgroup_create(enriched, "analytics", id="0", mkstream=True)  # subscribed, never reads
    capped.start_all()

    accepted, _refused, reasons = flood(capped, "protected", 2 * CAP)
    capped.wait_stored(accepted, timeout=300)

    assert any("consumer group 'analytics' is" in reason for reason in reasons), reasons
    with Redis.from_url(capped.redis_url) as redis:
        unread = redis.xinfo_groups(enriched)
        analytics = next(g for g in unread if g["name"] == b"analytics")
        assert analytics["lag"] == len(set(accepted)) == redis.xlen(enriched)  # nothing trimmed under it
    stats = httpx.get(f"{capped.store}/v1/stats", timeout=10).json()["streams"]
    [row] = [s for s in stats if s["group"] == "analytics"]
    assert (row["protected"], row["missed"]) == (True, 0)


def test_an_unprotected_group_left_behind_is_reported_overrun(capped: Pipeline) -> None:
    capped.settings.update(STREAM_RETENTION="1")  # acknowledged entries go after a second
    enriched = enriched_stream(capped.prefix)
    with Redis.from_url(capped.redis_url) as redis:
        redis.xgroup_create(enriched, "dawdler", id="0", mkstream=True)  # subscribed, never reads
    capped.start_all()

    ids = capped.post(articles("overrun", 300))
    capped.wait_stored(ids, timeout=300)

    def missed() -> int:
        stats = httpx.get(f"{capped.store}/v1/stats", timeout=10).json()["streams"]
        return int(next(s["missed"] for s in stats if s["group"] == "dawdler"))

    assert wait_for(missed, timeout=60, what="the dawdler to be reported overrun") > 0
    metrics = httpx.get(f"{capped.store}/metrics", timeout=5).text
    assert f'wirestream_group_overrun_total{{group="dawdler",stream="{enriched}"}}' in metrics
    logs = "".join(s.log() for s in capped.services if s.name == "store")
    assert "consumer group dawdler" in logs and "was overrun" in logs


def _settled(pipeline: Pipeline, stream: str) -> bool:
    """Enrich has gone as far as the enriched stream lets it: paused, with raw entries still waiting."""
    metrics = httpx.get(f"{_enrich_url(pipeline)}/metrics", timeout=5).text
    return 'wirestream_paused{stage="enrich"} 1.0' in metrics and xlen(pipeline.redis_url, stream) > 0


def _enrich_url(pipeline: Pipeline) -> str:
    enrich = next(s for s in pipeline.services if s.name == "enrich" and not s.expected_dead)
    return f"http://127.0.0.1:{enrich.port}"
