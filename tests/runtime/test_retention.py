"""Retention against a real Redis: never past a protected reader, old or surplus entries trimmed, overruns
counted, dead letters aged out, a stage's output room."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from services import metrics
from services.runtime import ids
from services.runtime.groups import Protected, stream_state
from services.runtime.retention import Retention, Room, expire_dead

GROUP = "store"
NOW = timedelta(milliseconds=1)  # every entry is older than this retention
LONG = timedelta(days=7)


async def _fill(redis: Redis, stream: str, n: int) -> list[str]:
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(n):
            pipe.xadd(stream, {"n": str(i)})
        return [entry_id.decode() for entry_id in await pipe.execute()]


async def _read_and_ack(redis: Redis, stream: str, group: str, n: int) -> None:
    answer = await redis.xreadgroup(group, "c", {stream: ">"}, count=n)
    done = [entry_id for _, rows in answer for entry_id, _ in rows]
    if done:
        await redis.xack(stream, group, *done)


async def _ids(redis: Redis, stream: str) -> list[str]:
    return [entry_id.decode() for entry_id, _ in await redis.xrange(stream)]


async def test_nothing_a_protected_group_has_not_acknowledged_is_trimmed(redis: Redis, prefix: str) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    written = await _fill(redis, stream, 3000)
    await redis.xreadgroup(GROUP, "c", {stream: ">"}, count=500)  # delivered, not acknowledged

    removed = await Retention(redis, stream, Protected(frozenset({GROUP})), NOW, cap=1000).run()

    assert removed == 0
    assert await _ids(redis, stream) == written


async def test_a_protected_group_that_does_not_exist_yet_protects_everything(
    redis: Redis, prefix: str
) -> None:
    stream = f"{prefix}:raw"
    written = await _fill(redis, stream, 800)
    assert await Retention(redis, stream, Protected(frozenset({"enrich"})), NOW, cap=1000).run() == 0
    assert await _ids(redis, stream) == written


async def test_a_protected_subscriber_group_holds_back_only_a_stream_it_was_created_on(
    redis: Redis, prefix: str
) -> None:
    stream = f"{prefix}:raw"
    await redis.xgroup_create(stream, "enrich", id="0", mkstream=True)
    await _fill(redis, stream, 1000)
    await _read_and_ack(redis, stream, "enrich", 1000)
    protected = Protected(frozenset({"enrich"}), subscribers=frozenset({"analytics"}))

    state = await stream_state(redis, stream)
    assert state is not None and state.behind(protected) == ("enrich", 0)
    assert await Retention(redis, stream, protected, NOW, cap=100_000).run() >= 900

    await redis.xgroup_create(stream, "analytics", id="$")
    unread = await _fill(redis, stream, 300)
    await _read_and_ack(redis, stream, "enrich", 300)
    state = await stream_state(redis, stream)
    assert state is not None and state.behind(protected) == ("analytics", 300)
    await Retention(redis, stream, protected, NOW, cap=100_000).run()
    assert set(unread) <= set(await _ids(redis, stream))


async def test_acknowledged_entries_older_than_the_retention_are_trimmed(redis: Redis, prefix: str) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    written = await _fill(redis, stream, 1000)
    await _read_and_ack(redis, stream, GROUP, 600)

    removed = await Retention(redis, stream, Protected(frozenset({GROUP})), NOW, cap=100_000).run()

    left = await _ids(redis, stream)
    assert removed >= 500  # approximate trimming removes whole nodes of 100 entries
    assert left == written[len(written) - len(left) :]
    assert set(written[600:]) <= set(left)  # not one unacknowledged entry


async def test_acknowledged_entries_are_kept_for_the_retention_while_they_fit_half_the_cap(
    redis: Redis, prefix: str
) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    written = await _fill(redis, stream, 1500)
    await _read_and_ack(redis, stream, GROUP, 1500)

    assert (
        await Retention(redis, stream, Protected(frozenset({GROUP})), LONG, cap=4000).run() == 0
    )  # 1500 <= 2000
    await Retention(redis, stream, Protected(frozenset({GROUP})), LONG, cap=2000).run()  # 1500 > 1000

    left = await _ids(redis, stream)
    assert 1000 <= len(left) <= 1100
    assert left == written[-len(left) :]


async def _missed(redis: Redis, stream: str, group: str) -> int:
    return int(await redis.hget(f"{stream}:overrun", group) or 0)


async def test_an_unprotected_group_behind_is_overrun_counted_and_reported(redis: Redis, prefix: str) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    await redis.xgroup_create(stream, "analytics", id="0")
    await _fill(redis, stream, 1000)
    await _read_and_ack(redis, stream, "analytics", 100)
    await _read_and_ack(redis, stream, GROUP, 1000)
    counter = metrics.OVERRUN.labels(stream=stream, group="analytics")
    before = counter._value.get()

    removed = await Retention(redis, stream, Protected(frozenset({GROUP})), NOW, cap=100_000).run()

    assert removed > 100
    assert await _missed(redis, stream, "analytics") == removed - 100  # it had read 100 of those trimmed
    assert counter._value.get() - before == removed - 100
    assert await _missed(redis, stream, GROUP) == 0


async def test_a_group_that_never_read_is_overrun_by_every_entry_trimmed(redis: Redis, prefix: str) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    await redis.xgroup_create(stream, "dawdler", id="0")  # Redis leaves its entries-read unset
    await _fill(redis, stream, 1000)
    await _read_and_ack(redis, stream, GROUP, 1000)

    removed = await Retention(redis, stream, Protected(frozenset({GROUP})), NOW, cap=100_000).run()

    assert removed > 0 and await _missed(redis, stream, "dawdler") == removed


async def test_a_group_created_after_a_trim_is_not_charged_with_it(redis: Redis, prefix: str) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    await _fill(redis, stream, 1050)
    await _read_and_ack(redis, stream, GROUP, 1050)
    retention = Retention(redis, stream, Protected(frozenset({GROUP})), NOW, cap=100_000)
    assert await retention.run() >= 1000

    await redis.xgroup_create(stream, "late", id="0")  # as the docs say to subscribe
    await _fill(redis, stream, 500)
    await _read_and_ack(redis, stream, GROUP, 500)
    removed = await retention.run()

    assert removed > 0
    assert await _missed(redis, stream, "late") == removed  # only what was there when it subscribed


async def test_a_group_placed_at_an_id_is_charged_with_what_followed_it(redis: Redis, prefix: str) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    written = await _fill(redis, stream, 1000)
    await redis.xgroup_create(stream, "replay", id=written[249])  # Redis cannot count its position
    await _read_and_ack(redis, stream, GROUP, 1000)

    removed = await Retention(redis, stream, Protected(frozenset({GROUP})), NOW, cap=100_000).run()

    assert removed > 250
    assert await _missed(redis, stream, "replay") == removed - 250


async def test_dead_letters_age_out_only_after_their_retention(redis: Redis, prefix: str) -> None:
    dead = f"{prefix}:dead"
    written = await _fill(redis, dead, 300)
    before = metrics.DEAD_EXPIRED._value.get()

    assert await expire_dead(redis, dead, LONG) == 0
    assert await _ids(redis, dead) == written
    removed = await expire_dead(redis, dead, NOW)

    assert removed >= 200
    assert metrics.DEAD_EXPIRED._value.get() - before == removed


async def test_a_stage_has_room_until_its_output_holds_a_cap_of_unread_entries(
    redis: Redis, prefix: str
) -> None:
    stream = f"{prefix}:enriched"
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    room = Room(Retention(redis, stream, Protected(frozenset({GROUP})), LONG, cap=1000), batch=50)
    await _fill(redis, stream, 950)
    assert await room()  # 950 + 50 fits
    await _fill(redis, stream, 1)
    assert not await room()  # unread: nothing may be trimmed to make room

    await _read_and_ack(redis, stream, GROUP, 951)
    room._trimmed_at = 0.0  # trimming is paced; this test does not wait for the pace
    assert await room()  # acknowledged entries beyond half the cap were trimmed
    first = ids.parse((await redis.xrange(stream, count=1))[0][0])
    assert first > ids.ZERO
