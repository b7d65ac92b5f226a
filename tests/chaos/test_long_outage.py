"""A stage down for longer than a stream's capacity: every article answered 202 is stored exactly once,
the rest are refused with 503, and no stream holds much more than its cap."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def flood(
    pipeline: Pipeline, items: list[dict[str, Any]], *, after_accepted: Callable[[], object] = lambda: None
) -> tuple[list[str], int, set[str]]:
    """Post ``items`` in batches of 100 as fast as ingest answers, each batch once; call
    ``after_accepted`` after each batch that was not refused.

    Returns the ids answered ``accepted``, how many were refused, and the 503 messages seen.
    """
    accepted: list[str] = []
    refused, reasons = 0, set()
    with httpx.Client(timeout=60) as client:
        for start in range(0, len(items), 100):
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
            after_accepted()
    return accepted, refused, reasons


@pytest.fixture
def capped(pipeline: Pipeline) -> Pipeline:
    pipeline.settings.update(STREAM_MAXLEN=str(CAP))
    return pipeline


@dataclass(frozen=True)
class Outage:
    """A stage down while three caps of articles are posted: who, which stream fills, what ingest says."""

    stage: str
    stream: Callable[[str], str]
    reason: str
    most: int  # the longest the filling stream may get
    settings: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.stage


OUTAGES = [
    # Raw may hold a whole cap, so enrich has enough to fill the enriched stream up to its cap.
    Outage("store", enriched_stream, "the store is", CAP + SLACK, (("MAX_RAW_LAG", "0"),)),
    Outage("enrich", raw_stream, "enrichment is", CAP),
]


@pytest.mark.parametrize("outage", OUTAGES, ids=str)
def test_a_stage_down_for_three_caps_of_articles(
    capped: Pipeline, outage: Outage, report: dict[str, Any]
) -> None:
    capped.settings.update(outage.settings)
    capped.start_all()
    assert next(s for s in capped.services if s.name == outage.stage).stop() == 0
    tag = f"{outage.stage}-down"
    items = articles(tag, 3 * CAP)

    with peak_length(capped.redis_url, outage.stream(capped.prefix)) as lengths:
        accepted, refused, reasons = flood(capped, items[: 2 * CAP])
        if outage.stage == "store":  # enrich goes on until the enriched stream has no room left
            wait_for(lambda: _paused(capped), timeout=300, what="enrich to pause")
        more, more_refused, more_reasons = flood(capped, items[2 * CAP :])  # the pipeline is full
        accepted, refused, reasons = accepted + more, refused + more_refused, reasons | more_reasons
        capped.start(outage.stage)
        seconds = capped.wait_stored(accepted, timeout=300)

    assert accepted and refused and len(accepted) + refused == 3 * CAP
    assert any(outage.reason in reason for reason in reasons), reasons
    listed = capped.listed_ids(tag)
    assert sorted(listed) == sorted(set(accepted)) and len(listed) == len(set(accepted))  # once each
    assert max(lengths) <= outage.most, max(lengths)
    assert xlen(capped.redis_url, dead_stream(capped.prefix)) == 0
    report.update(
        test=f"{outage.stage} down while three caps of articles were posted",
        cap=CAP,
        posted=3 * CAP,
        accepted=len(accepted),
        refused=refused,
        stored=len(listed),
        peak=max(lengths),
        seconds_to_store_after_restart=round(seconds, 1),
    )


def test_a_protected_subscriber_group_is_waited_for(capped: Pipeline, report: dict[str, Any]) -> None:
    capped.settings.update(PROTECTED_GROUPS="analytics")
    enriched = enriched_stream(capped.prefix)
    with Redis.from_url(capped.redis_url) as redis:
        redis.xgroup_create(enriched, "analytics", id="0", mkstream=True)  # subscribed, never reads
    capped.start_all()

    # Each batch enriched before the next: the enriched stream, not raw, is what fills up.
    accepted, refused, reasons = flood(
        capped, articles("protected", 2 * CAP), after_accepted=lambda: _enriched_all(capped)
    )
    capped.wait_stored(accepted, timeout=300)

    assert any("consumer group 'analytics' is" in reason for reason in reasons), reasons
    with Redis.from_url(capped.redis_url) as redis:
        unread = redis.xinfo_groups(enriched)
        analytics = next(g for g in unread if g["name"] == b"analytics")
        assert analytics["lag"] == len(set(accepted)) == redis.xlen(enriched)  # nothing trimmed under it
    stats = httpx.get(f"{capped.store}/v1/stats", timeout=10).json()["streams"]
    [row] = [s for s in stats if s["group"] == "analytics"]
    assert (row["protected"], row["missed"]) == (True, 0)
    report.update(
        test="a protected group that never reads",
        posted=2 * CAP,
        accepted=len(accepted),
        refused=refused,
        unread_by_the_group=row["lag"],
    )


def test_an_unprotected_group_left_behind_is_reported_overrun(
    capped: Pipeline, report: dict[str, Any]
) -> None:
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

    count = wait_for(missed, timeout=60, what="the dawdler to be reported overrun")
    assert 0 < count <= len(ids)
    metrics = httpx.get(f"{capped.store}/metrics", timeout=5).text
    assert f'wirestream_group_overrun_total{{group="dawdler",stream="{enriched}"}}' in metrics
    logs = "".join(s.log() for s in capped.services if s.name == "store")
    assert "consumer group dawdler" in logs and "was overrun" in logs
    report.update(test="an unprotected group that never reads", posted=len(ids), missed=count)


def _paused(pipeline: Pipeline) -> bool:
    """Enrich has gone as far as the enriched stream lets it and reads nothing more."""
    enrich = next(s for s in pipeline.services if s.name == "enrich" and not s.expected_dead)
    metrics = httpx.get(f"http://127.0.0.1:{enrich.port}/metrics", timeout=5).text
    return 'wirestream_paused{stage="enrich"} 1.0' in metrics


def _enriched_all(pipeline: Pipeline) -> None:
    """Wait until enrich has read and acknowledged every raw entry."""

    def caught_up() -> bool:
        with Redis.from_url(pipeline.redis_url) as redis:
            groups = redis.xinfo_groups(raw_stream(pipeline.prefix))
        enrich = next((g for g in groups if g["name"] == b"enrich"), None)
        return enrich is not None and enrich["lag"] == 0 and enrich["pending"] == 0

    wait_for(caught_up, timeout=120, what="enrich to catch up")
