"""The stage runner and reclaiming against a real Redis: ack, dead-letter, reclaim and give up."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from services.contracts import RawArticle, dead_stream, raw_stream
from services.errors import PartialFailure, PoisonMessage, TransientError
from services.runtime.codec import DATA_FIELD
from services.runtime.groups import ensure_group
from services.runtime.reclaim import reclaim_once
from services.runtime.runner import Item, StageRunner
from tests.factories import raw_article, raw_entry

GROUP = "enrich"
CONSUMER = "worker-1"
Fields = dict[bytes, bytes]
Process = Callable[[Sequence[Item[RawArticle]]], Awaitable[None]]


class Recorder:
    """A process function that commits all or nothing, like a DB transaction, and fails on demand.

    ``fail[article_id]`` is how many more attempts of that article fail; -1 fails for ever.
    """

    def __init__(self) -> None:
        self.committed: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.calls: list[list[str]] = []
        self.fail: dict[str, int] = {}

    async def __call__(self, items: Sequence[Item[RawArticle]]) -> None:
        ids = [i.value.id for i in items]
        self.calls.append(ids)
        self.attempts.update(ids)
        for article_id in ids:
            left = self.fail.get(article_id, 0)
            if left:
                self.fail[article_id] = left - 1 if left > 0 else left
                raise RuntimeError(f"cannot process {article_id}")
        self.committed.update(ids)


def make_runner(
    redis: Redis, prefix: str, process: Process, *, max_deliveries: int = 3
) -> StageRunner[RawArticle]:
    return StageRunner(
        redis=redis,
        stream=raw_stream(prefix),
        group=GROUP,
        consumer=CONSUMER,
        dead_stream=dead_stream(prefix),
        stage="enrich",
        model=RawArticle,
        process=process,
        max_deliveries=max_deliveries,
    )


async def add(redis: Redis, prefix: str, fields: Fields | dict[str, Any]) -> str:
    entry_id = await redis.xadd(raw_stream(prefix), fields)
    return str(entry_id.decode())


async def read(
    redis: Redis, prefix: str, consumer: str = CONSUMER, count: int = 100
) -> list[tuple[str, Fields]]:
    """Read new entries as the stage worker does: XREADGROUP ... > ."""
    answer = await redis.xreadgroup(GROUP, consumer, {raw_stream(prefix): ">"}, count=count)
    return [(eid.decode(), fields) for _stream, entries in answer for eid, fields in entries]


async def pending(redis: Redis, prefix: str) -> dict[str, int]:
    """Pending entry id -> times delivered."""
    rows = await redis.xpending_range(raw_stream(prefix), GROUP, min="-", max="+", count=1000)
    return {r["message_id"].decode(): int(r["times_delivered"]) for r in rows}


async def dead_letters(redis: Redis, prefix: str) -> list[dict[str, bytes]]:
    rows = await redis.xrange(dead_stream(prefix))
    return [{k.decode(): v for k, v in fields.items()} for _eid, fields in rows]


# ---------------------------------------------------------------------------------------------------------
# Group set-up


async def test_group_created_after_entries_still_gets_them(redis: Redis, prefix: str) -> None:
    early = [raw_article(), raw_article()]
    ids = [await add(redis, prefix, raw_entry(a)) for a in early]

    assert await ensure_group(redis, raw_stream(prefix), GROUP) is True
    assert await ensure_group(redis, raw_stream(prefix), GROUP) is False

    entries = await read(redis, prefix)
    assert [eid for eid, _ in entries] == ids
    recorder = Recorder()
    await make_runner(redis, prefix, recorder).handle(entries)
    assert recorder.committed == Counter(a.id for a in early)
    assert await pending(redis, prefix) == {}


async def test_ensure_group_creates_a_missing_stream(redis: Redis, prefix: str) -> None:
    assert not await redis.exists(raw_stream(prefix))

    assert await ensure_group(redis, raw_stream(prefix), GROUP) is True

    assert await redis.exists(raw_stream(prefix))
    groups = await redis.xinfo_groups(raw_stream(prefix))
    assert [g["name"].decode() for g in groups] == [GROUP]


async def test_second_ensure_group_keeps_the_group_position(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    await add(redis, prefix, raw_entry(raw_article()))
    assert len(await read(redis, prefix)) == 1
    later = await add(redis, prefix, raw_entry(raw_article()))

    assert await ensure_group(redis, raw_stream(prefix), GROUP) is False  # not reset to 0

    assert [eid for eid, _ in await read(redis, prefix)] == [later]


# ---------------------------------------------------------------------------------------------------------
# Malformed entries


async def test_malformed_entries_are_dead_lettered_and_the_rest_processed(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    first, last = raw_article(), raw_article()
    incomplete = raw_article().model_dump(mode="json")
    del incomplete["received_at"]
    bad_fields: dict[str, Fields] = {
        "garbage": {DATA_FIELD.encode(): b"\x00not json at all"},
        "no-data": {b"title": b"Loose fields", b"body": b"No envelope"},
        "schema": {DATA_FIELD.encode(): orjson.dumps({"headers": {}, "body": incomplete})},
    }
    first_id = await add(redis, prefix, raw_entry(first))
    bad_ids = {name: await add(redis, prefix, fields) for name, fields in bad_fields.items()}
    last_id = await add(redis, prefix, raw_entry(last))
    recorder = Recorder()
    runner = make_runner(redis, prefix, recorder)
    before_ms = int(time.time() * 1000)

    await runner.handle(await read(redis, prefix))

    assert recorder.calls == [[first.id, last.id]]  # the good ones, in one batch, in order
    assert await pending(redis, prefix) == {}
    dead = await dead_letters(redis, prefix)
    assert [d["entry_id"].decode() for d in dead] == list(bad_ids.values())
    expected_errors = {
        "garbage": "malformed: not JSON",
        "no-data": f"malformed: entry has no {DATA_FIELD} field (fields: body, title)",
        "schema": "malformed: does not match RawArticle: received_at: Field required",
    }
    for record, (name, fields) in zip(dead, bad_fields.items(), strict=True):
        assert record["stage"] == b"enrich"
        assert record["stream"] == raw_stream(prefix).encode()
        assert record["error"].decode().startswith(expected_errors[name]), record["error"]
        assert record["deliveries"] == b"1"
        assert before_ms <= int(record["dead_at"]) <= int(time.time() * 1000)
        originals = {k.removeprefix("orig:").encode(): v for k, v in record.items() if k.startswith("orig:")}
        assert originals == fields
    assert {first_id, last_id}.isdisjoint(d["entry_id"].decode() for d in dead)


async def test_batch_of_only_malformed_entries_never_calls_process(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    await add(redis, prefix, {DATA_FIELD: "[1, 2]"})
    recorder = Recorder()

    await make_runner(redis, prefix, recorder).handle(await read(redis, prefix))

    assert recorder.calls == []
    assert await pending(redis, prefix) == {}
    [record] = await dead_letters(redis, prefix)
    assert b"expected a JSON object, got list" in record["error"]


async def test_malformed_entry_is_dead_lettered_even_on_redelivery(redis: Redis, prefix: str) -> None:
    # A consumer that died holding the entry: the next one reclaims it and drops it with its count.
    await ensure_group(redis, raw_stream(prefix), GROUP)
    entry_id = await add(redis, prefix, {DATA_FIELD: "{"})
    assert len(await read(redis, prefix, consumer="crashed")) == 1
    runner = make_runner(redis, prefix, Recorder())

    assert await reclaim_once(runner, min_idle_ms=0, count=10) == 1

    assert await pending(redis, prefix) == {}
    [record] = await dead_letters(redis, prefix)
    assert record["entry_id"].decode() == entry_id
    assert record["deliveries"] == b"2"


# ---------------------------------------------------------------------------------------------------------
# Failures, reclaim and giving up


async def test_failure_of_one_article_leaves_only_it_pending(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    articles = [raw_article() for _ in range(4)]
    ids = [await add(redis, prefix, raw_entry(a)) for a in articles]
    bad = articles[2]
    recorder = Recorder()
    recorder.fail[bad.id] = -1

    await make_runner(redis, prefix, recorder).handle(await read(redis, prefix))

    assert recorder.committed == Counter(a.id for a in articles if a is not bad)
    assert recorder.calls[0] == [a.id for a in articles]  # the whole batch first, then one by one
    assert await pending(redis, prefix) == {ids[2]: 1}
    assert await dead_letters(redis, prefix) == []


async def failing_entry(redis: Redis, prefix: str) -> tuple[Recorder, RawArticle, str]:
    """One entry in the group whose every processing fails, and the recorder that fails it."""
    await ensure_group(redis, raw_stream(prefix), GROUP)
    article = raw_article()
    entry_id = await add(redis, prefix, raw_entry(article))
    recorder = Recorder()
    recorder.fail[article.id] = -1
    return recorder, article, entry_id


async def test_single_failing_entry_is_left_pending(redis: Redis, prefix: str) -> None:
    recorder, article, entry_id = await failing_entry(redis, prefix)

    await make_runner(redis, prefix, recorder).handle(await read(redis, prefix))

    assert recorder.attempts == Counter({article.id: 1})  # no pointless one-by-one retry of one item
    assert await pending(redis, prefix) == {entry_id: 1}


async def test_entry_not_yet_idle_is_not_reclaimed(redis: Redis, prefix: str) -> None:
    recorder, article, entry_id = await failing_entry(redis, prefix)
    runner = make_runner(redis, prefix, recorder)
    await runner.handle(await read(redis, prefix))

    assert await reclaim_once(runner, min_idle_ms=60_000, count=10) == 0

    assert recorder.attempts[article.id] == 1
    assert await pending(redis, prefix) == {entry_id: 1}


async def test_poison_article_is_retried_then_dead_lettered_with_its_error(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    good, bad = raw_article(), raw_article()
    await add(redis, prefix, raw_entry(good))
    bad_fields = raw_entry(bad)
    bad_id = await add(redis, prefix, bad_fields)
    recorder = Recorder()
    recorder.fail[bad.id] = -1
    runner = make_runner(redis, prefix, recorder, max_deliveries=3)
    await runner.handle(await read(redis, prefix))
    assert await pending(redis, prefix) == {bad_id: 1}
    attempts_after_read = recorder.attempts[bad.id]  # the batch, then alone

    # Deliveries 2 and 3 are retried; the 4th claim exceeds max_deliveries=3 and gives up.
    for delivery in (2, 3):
        assert await reclaim_once(runner, min_idle_ms=0, count=10) == 1
        assert await pending(redis, prefix) == {bad_id: delivery}
        assert recorder.attempts[bad.id] == attempts_after_read + delivery - 1
    assert await dead_letters(redis, prefix) == []
    assert await reclaim_once(runner, min_idle_ms=0, count=10) == 1

    assert recorder.attempts[bad.id] == attempts_after_read + 2  # not processed on the giving-up claim
    assert await pending(redis, prefix) == {}
    [record] = await dead_letters(redis, prefix)
    assert record["entry_id"].decode() == bad_id
    assert record["stage"] == b"enrich"
    assert record["deliveries"] == b"3"
    assert record["error"].decode() == f"gave up after 3 deliveries: RuntimeError: cannot process {bad.id}"
    assert {k: v for k, v in record.items() if k.startswith("orig:")} == {
        f"orig:{DATA_FIELD}": bad_fields[DATA_FIELD]
    }
    assert recorder.committed == Counter({good.id: 1})
    assert await reclaim_once(runner, min_idle_ms=0, count=10) == 0


async def test_entry_whose_consumer_died_is_given_up_without_being_processed(
    redis: Redis, prefix: str
) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    entry_id = await add(redis, prefix, raw_entry(raw_article()))
    await read(redis, prefix, consumer="other-replica")
    # The other replica was handed it 5 times and never recorded an error: it died each time.
    await redis.xclaim(raw_stream(prefix), GROUP, "other-replica", 0, [entry_id], retrycount=5)
    recorder = Recorder()
    runner = make_runner(redis, prefix, recorder, max_deliveries=5)

    assert await reclaim_once(runner, min_idle_ms=0, count=10) == 1

    assert recorder.calls == []
    [record] = await dead_letters(redis, prefix)
    assert record["entry_id"].decode() == entry_id
    assert record["error"].startswith(b"gave up after 5 deliveries: ")
    assert record["deliveries"] == b"5"
    assert await pending(redis, prefix) == {}


async def test_error_recorded_by_one_replica_is_reported_by_the_one_that_gives_up(
    redis: Redis, prefix: str
) -> None:
    failing, article, _entry_id = await failing_entry(redis, prefix)
    first = make_runner(redis, prefix, failing, max_deliveries=1)
    await first.handle(await read(redis, prefix))
    # A fresh replica (another process: nothing shared in memory) claims it past max_deliveries.
    second = make_runner(redis, prefix, Recorder(), max_deliveries=1)
    second.consumer = "worker-2"

    assert await reclaim_once(second, min_idle_ms=0, count=10) == 1

    [record] = await dead_letters(redis, prefix)
    assert (
        record["error"].decode() == f"gave up after 1 deliveries: RuntimeError: cannot process {article.id}"
    )
    assert await pending(redis, prefix) == {}


async def test_transient_failure_is_processed_exactly_once_after_reclaim(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    articles = [raw_article() for _ in range(3)]
    for article in articles:
        await add(redis, prefix, raw_entry(article))
    flaky = articles[1]
    recorder = Recorder()
    recorder.fail[flaky.id] = 2  # fails in the batch and alone, then works
    runner = make_runner(redis, prefix, recorder)

    await runner.handle(await read(redis, prefix))
    assert recorder.committed == Counter({articles[0].id: 1, articles[2].id: 1})
    assert len(await pending(redis, prefix)) == 1

    assert await reclaim_once(runner, min_idle_ms=0, count=10) == 1
    assert await reclaim_once(runner, min_idle_ms=0, count=10) == 0

    assert recorder.committed == Counter(a.id for a in articles)  # each exactly once
    assert await pending(redis, prefix) == {}
    assert await dead_letters(redis, prefix) == []


async def test_retry_within_the_batch_commits_each_article_once(redis: Redis, prefix: str) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    articles = [raw_article() for _ in range(3)]
    for article in articles:
        await add(redis, prefix, raw_entry(article))
    recorder = Recorder()
    recorder.fail[articles[0].id] = 1  # the batch fails once; one by one, all succeed

    await make_runner(redis, prefix, recorder).handle(await read(redis, prefix))

    assert recorder.committed == Counter(a.id for a in articles)
    assert await pending(redis, prefix) == {}


@pytest.mark.parametrize("max_deliveries", [1, 2])
async def test_max_deliveries_counts_the_first_delivery(
    redis: Redis, prefix: str, max_deliveries: int
) -> None:
    recorder, article, _entry_id = await failing_entry(redis, prefix)
    runner = make_runner(redis, prefix, recorder, max_deliveries=max_deliveries)
    await runner.handle(await read(redis, prefix))

    for _ in range(max_deliveries - 1):
        await reclaim_once(runner, min_idle_ms=0, count=10)
    assert await dead_letters(redis, prefix) == []
    await reclaim_once(runner, min_idle_ms=0, count=10)

    assert recorder.attempts[article.id] == max_deliveries
    [record] = await dead_letters(redis, prefix)
    assert record["deliveries"] == str(max_deliveries).encode()
    assert await pending(redis, prefix) == {}


async def test_poison_entries_are_counted_right_among_fresh_pending_ones(redis: Redis, prefix: str) -> None:
    # Two long-idle, over-delivered entries with hundreds of fresh in-flight entries between them in the
    # PEL: the delivery count of each claimed entry must still be read, or a poison entry loops for ever.
    await ensure_group(redis, raw_stream(prefix), GROUP)
    async with redis.pipeline(transaction=False) as pipe:
        for _ in range(300):
            pipe.xadd(raw_stream(prefix), raw_entry(raw_article()))
        ids = [eid.decode() for eid in await pipe.execute()]
    assert len(await read(redis, prefix, consumer="crashed", count=1000)) == 300
    stale = [ids[0], ids[-1]]
    await redis.xclaim(raw_stream(prefix), GROUP, "crashed", 0, stale, idle=60_000, retrycount=9)
    recorder = Recorder()
    runner = make_runner(redis, prefix, recorder, max_deliveries=5)

    assert await reclaim_once(runner, min_idle_ms=30_000, count=64) == 2

    assert recorder.calls == []
    dead = await dead_letters(redis, prefix)
    assert sorted(d["entry_id"].decode() for d in dead) == sorted(stale)
    assert {d["deliveries"] for d in dead} == {b"9"}
    assert set(await pending(redis, prefix)) == set(ids[1:-1])


# ---------------------------------------------------------------------------------------------------------
# Stages that settle each entry on their own


async def test_partial_failure_acks_the_rest_and_ends_each_failed_entry_as_alone(
    redis: Redis, prefix: str
) -> None:
    await ensure_group(redis, raw_stream(prefix), GROUP)
    articles = [raw_article() for _ in range(4)]
    ids = [await add(redis, prefix, raw_entry(a)) for a in articles]
    calls: list[list[str]] = []

    async def settle(items: Sequence[Item[RawArticle]]) -> None:
        calls.append([i.entry_id for i in items])
        raise PartialFailure(
            {
                items[1].entry_id: PoisonMessage("no main text"),
                items[2].entry_id: TransientError("site down"),
                items[3].entry_id: RuntimeError("bug"),
            }
        )

    runner = make_runner(redis, prefix, settle)
    runner.transient_pause_s = 0.0
    await runner.handle(await read(redis, prefix))

    assert calls == [ids]  # never retried one by one: the stage said which entries failed
    assert await pending(redis, prefix) == {ids[2]: 1, ids[3]: 1}
    [record] = await dead_letters(redis, prefix)
    assert record["entry_id"].decode() == ids[1]
    assert record["error"] == b"poison: PoisonMessage: no main text"
    errors = await redis.hgetall(runner.failures)
    assert errors == {
        ids[2].encode(): b"transient: TransientError: site down",
        ids[3].encode(): b"RuntimeError: bug",
    }


async def test_a_stage_sees_how_often_each_entry_was_delivered(redis: Redis, prefix: str) -> None:
    recorder, _article, _entry_id = await failing_entry(redis, prefix)
    seen: list[int] = []

    async def process(items: Sequence[Item[RawArticle]]) -> None:
        seen.extend(i.deliveries for i in items)
        await recorder(items)

    runner = make_runner(redis, prefix, process, max_deliveries=5)
    await runner.handle(await read(redis, prefix))
    await reclaim_once(runner, min_idle_ms=0, count=10)
    await reclaim_once(runner, min_idle_ms=0, count=10)

    assert seen == [1, 2, 3]
