"""Dead-letter stream against a real Redis: what dies is listed with its reason and can be replayed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis

from services.contracts import RawArticle, dead_stream, enriched_stream, raw_stream
from services.errors import NotFound
from services.runtime import deadletter
from services.runtime.codec import DATA_FIELD
from services.runtime.runner import Item, StageRunner
from tests.factories import raw_article, raw_entry


async def _nothing(items: Sequence[Item[RawArticle]]) -> None:
    del items


def _runner(redis: Redis, prefix: str, stage: str) -> StageRunner[RawArticle]:
    stream = raw_stream(prefix) if stage == "enrich" else enriched_stream(prefix)
    return StageRunner(
        redis=redis,
        stream=stream,
        group=stage,
        consumer="c1",
        dead_stream=dead_stream(prefix),
        stage=stage,
        model=RawArticle,
        process=_nothing,
    )


async def _kill(redis: Redis, prefix: str, stage: str, fields: dict[bytes, bytes], error: str) -> str:
    runner = _runner(redis, prefix, stage)
    entry_id = (await redis.xadd(runner.stream, fields)).decode()
    await runner.dead_letter(entry_id, fields, error, deliveries=4)
    return entry_id


async def test_dead_entries_are_listed_newest_first_with_their_reason(redis: Redis, prefix: str) -> None:
    first = await _kill(redis, prefix, "enrich", {b"junk": b"1"}, "malformed: no __data__")
    second = await _kill(redis, prefix, "store", raw_entry(raw_article()), "gave up after 4 deliveries: boom")

    both = await deadletter.list_dead(redis, prefix=prefix)
    assert [e.entry_id for e in both] == [second, first]
    assert both[0].stage == "store" and both[0].deliveries == 4 and "boom" in both[0].error
    assert both[1].original == {"junk": "1"}
    assert both[0].original_json["headers"]["event_type"] == "article.raw"
    only_enrich = await deadletter.list_dead(redis, prefix=prefix, stage="enrich")
    assert [e.entry_id for e in only_enrich] == [first]
    older = await deadletter.list_dead(redis, prefix=prefix, before=both[0].id)
    assert [e.entry_id for e in older] == [first]


async def test_paging_goes_through_many_dead_entries_once(redis: Redis, prefix: str) -> None:
    for n in range(130):
        await _kill(redis, prefix, "enrich" if n % 3 else "store", {b"n": str(n).encode()}, "bad")
    seen, before = [], None
    while page := await deadletter.list_dead(redis, prefix=prefix, stage="enrich", limit=40, before=before):
        seen += [int(e.original["n"]) for e in page]
        before = page[-1].id
    assert seen == [n for n in reversed(range(130)) if n % 3]


@pytest.mark.parametrize("stage", ["enrich", "store"])
async def test_replay_republishes_to_the_stage_input_and_removes_the_dead_entry(
    redis: Redis, prefix: str, stage: str
) -> None:
    fields = raw_entry(raw_article())
    await _kill(redis, prefix, stage, fields, "gave up")
    [dead] = await deadletter.list_dead(redis, prefix=prefix)

    assert dead.id is not None
    replayed = await deadletter.replay(redis, prefix=prefix, dead_id=dead.id)

    target = raw_stream(prefix) if stage == "enrich" else enriched_stream(prefix)
    assert replayed[0] == target
    [(_new_id, new_fields)] = await redis.xrange(target, min=replayed[1], max=replayed[1])
    assert new_fields == {DATA_FIELD.encode(): fields[DATA_FIELD]}
    assert await redis.xlen(dead_stream(prefix)) == 0
    with pytest.raises(NotFound):
        await deadletter.replay(redis, prefix=prefix, dead_id=dead.id)


async def test_cli_lists_and_replays(
    redis_url: str, redis: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _kill(redis, prefix, "enrich", raw_entry(raw_article()), "gave up after 5 deliveries: kaput")
    [dead] = await deadletter.list_dead(redis, prefix=prefix)

    def wirestream(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "REDIS_URL": redis_url, "STREAM_PREFIX": prefix, "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "services.tools.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    listing = await asyncio.to_thread(wirestream, "dead", "list", "--stage", "enrich")
    assert listing.returncode == 0, listing.stderr
    assert dead.id is not None and dead.id in listing.stdout and "kaput" in listing.stdout

    bogus = await asyncio.to_thread(wirestream, "dead", "list", "--stage", "bogus")
    assert bogus.returncode == 2 and "'bogus' is not a stage; one of enrich, store" in bogus.stderr

    missing = await asyncio.to_thread(wirestream, "dead", "replay", "1-1")
    assert missing.returncode == 1 and "no such dead entry" in missing.stdout

    replay = await asyncio.to_thread(wirestream, "dead", "replay", dead.id)
    assert replay.returncode == 0, replay.stderr
    assert f"{prefix}:raw" in replay.stdout
    assert await redis.xlen(dead_stream(prefix)) == 0
    assert await redis.xlen(raw_stream(prefix)) == 2
