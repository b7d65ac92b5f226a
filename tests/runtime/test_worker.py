"""The stage worker in-process against a real Redis: start, read, recover a lost group, stop cleanly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from redis.asyncio import Redis

from services import metrics
from services.contracts import ENRICH, RawArticle, raw_stream
from services.runtime.runner import Item
from services.runtime.worker import StageWorker, stage_worker
from services.settings import ConsumerSettings
from tests.factories import raw_article, raw_entry
from tests.harness import eventually


class Stage:
    """A stage that records what it processed and can be held inside a batch."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.inside = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: Sequence[Item[RawArticle]]) -> None:
        self.inside.set()
        await self.release.wait()
        self.done += [i.value.id for i in items]


def _worker(redis: Redis, prefix: str, stage: Stage) -> StageWorker:
    settings = ConsumerSettings(stream_prefix=prefix, batch_size=8, poll_ms=100, claim_idle_ms=60_000)
    return stage_worker(settings, ENRICH, redis=redis, process=stage)


async def _post(redis: Redis, prefix: str, n: int) -> list[str]:
    articles = [raw_article() for _ in range(n)]
    for article in articles:
        await redis.xadd(raw_stream(prefix), raw_entry(article))  # type: ignore[arg-type]
    return [a.id for a in articles]


async def _pending(redis: Redis, prefix: str) -> int:
    return int((await redis.xpending(raw_stream(prefix), ENRICH.group))["pending"])


async def test_a_started_worker_processes_what_was_posted_before_and_after_it_started(
    redis: Redis, prefix: str
) -> None:
    stage = Stage()
    before = await _post(redis, prefix, 5)  # the group is created at 0: nothing posted earlier is missed
    worker = _worker(redis, prefix, stage)
    await worker.start()
    try:
        after = await _post(redis, prefix, 12)
        await eventually(lambda: _all(stage, before + after), what="every article processed")
        assert await _pending(redis, prefix) == 0
    finally:
        await worker.stop()
    assert sorted(stage.done) == sorted(before + after)


async def _all(stage: Stage, ids: list[str]) -> bool:
    return set(ids) <= set(stage.done)


async def test_a_lost_group_is_recreated_and_reading_goes_on(redis: Redis, prefix: str) -> None:
    stage = Stage()
    worker = _worker(redis, prefix, stage)
    recreated = metrics.GROUP_RECREATED.labels(stage="enrich")._value.get()
    await worker.start()
    try:
        first = await _post(redis, prefix, 3)
        await eventually(lambda: _all(stage, first), what="the first articles")
        await redis.xgroup_destroy(raw_stream(prefix), ENRICH.group)  # as a Redis restart without data does

        later = await _post(redis, prefix, 3)
        await eventually(lambda: _all(stage, later), what="the articles posted after the group was lost")
    finally:
        await worker.stop()
    assert metrics.GROUP_RECREATED.labels(stage="enrich")._value.get() == recreated + 1


async def test_stop_finishes_the_batch_in_hand_and_acknowledges_it(redis: Redis, prefix: str) -> None:
    stage = Stage()
    stage.release.clear()
    worker = _worker(redis, prefix, stage)
    await worker.start()
    ids = await _post(redis, prefix, 4)
    await asyncio.wait_for(stage.inside.wait(), 10)  # a batch is in hand

    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0)  # stop has begun; the batch is still held
    assert not stopping.done()
    stage.release.set()
    await asyncio.wait_for(stopping, 10)

    assert set(stage.done) == set(ids[: len(stage.done)]) and stage.done
    assert await _pending(redis, prefix) == len(ids) - len(stage.done)  # what was read got acknowledged


async def test_stop_leaves_a_batch_stuck_on_a_dependency_pending(redis: Redis, prefix: str) -> None:
    stage = Stage()
    stage.release.clear()  # never released: the dependency hangs
    worker = _worker(redis, prefix, stage)
    await worker.start()
    ids = await _post(redis, prefix, 4)
    await asyncio.wait_for(stage.inside.wait(), 10)

    await asyncio.wait_for(worker.stop(grace_s=0.3), 5)  # returns though the batch never finishes

    assert stage.done == []
    assert await _pending(redis, prefix) == len(ids)  # nothing acknowledged: another replica reclaims it


async def test_stop_of_an_idle_worker_does_not_wait_out_its_blocking_read(redis: Redis, prefix: str) -> None:
    stage = Stage()
    settings = ConsumerSettings(stream_prefix=prefix, batch_size=8, poll_ms=5_000, claim_idle_ms=60_000)
    worker = stage_worker(settings, ENRICH, redis=redis, process=stage)
    await worker.start()
    await eventually(lambda: _blocked(worker), what="the worker to block in XREADGROUP")

    began = time.monotonic()
    await worker.stop()
    assert time.monotonic() - began < 2.5  # well under the 5 s block


async def _blocked(worker: StageWorker) -> bool:
    return worker._waiting
