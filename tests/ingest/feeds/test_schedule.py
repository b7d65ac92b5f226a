"""The feed schedule on a real Redis: leases shared by replicas, and the arithmetic of the next poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from services.fetch import Validator
from services.ingest.feeds.registry import FeedIn, FeedRegistry, FeedStatus
from services.ingest.feeds.schedule import (
    BACKOFF_CAP_S,
    RETRY_AFTER_MAX_S,
    Lease,
    Poll,
    Schedule,
    after_poll,
    failure_wait,
)

T0 = 1_705_305_600.0  # 2024-01-15T08:00:00Z
LEASE_S = 60.0


@pytest.fixture
def registry(redis: Redis, prefix: str) -> FeedRegistry:
    return FeedRegistry(redis, prefix)


@pytest.fixture
def schedule(redis: Redis, prefix: str) -> Schedule:
    return Schedule(redis, prefix)


async def _add(registry: FeedRegistry, n: int, at: float = T0, site: str = "example.com") -> list[str]:
    when = datetime.fromtimestamp(at, UTC)
    return [(await registry.add(FeedIn(url=f"https://{site}/{i}/rss"), now=when)).id for i in range(n)]


async def _due(schedule: Schedule, feed: str) -> float | None:
    return await schedule.redis.zscore(schedule.due, feed)


async def test_claim_takes_what_is_due_oldest_first_and_leases_it(
    registry: FeedRegistry, schedule: Schedule
) -> None:
    later = await _add(registry, 1, T0 + 30, site="example.org")
    first = await _add(registry, 3, T0)  # registered at T0: due before the other

    leases = await schedule.claim(T0 + 30, limit=2, lease_s=LEASE_S)

    taken = [lease.feed_id for lease in leases]
    assert len(taken) == 2 and set(taken) < set(first)  # due at one time: in id order
    assert {lease.until for lease in leases} == {T0 + 30 + LEASE_S}
    assert [await _due(schedule, feed) for feed in taken] == [T0 + 30 + LEASE_S] * 2
    rest = await schedule.claim(T0 + 30, limit=10, lease_s=LEASE_S)
    assert [lease.feed_id for lease in rest] == [*(set(first) - set(taken)), *later]
    assert await schedule.claim(T0 + 30, limit=10, lease_s=LEASE_S) == []  # all leased


async def test_a_feed_not_yet_due_is_not_claimed(registry: FeedRegistry, schedule: Schedule) -> None:
    await _add(registry, 1, T0 + 1)

    assert await schedule.claim(T0, limit=10, lease_s=LEASE_S) == []
    assert len(await schedule.claim(T0 + 1, limit=10, lease_s=LEASE_S)) == 1  # due at its score


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[list[Redis]]:
    clients = [Redis.from_url(redis_url) for _ in range(8)]
    yield clients
    for client in clients:
        await client.aclose()


async def test_concurrent_claimers_never_share_a_feed(
    registry: FeedRegistry, replicas: list[Redis], prefix: str
) -> None:
    feeds = await _add(registry, 200)

    async def poller(client: Redis) -> list[str]:
        schedule, taken = Schedule(client, prefix), []
        while leases := await schedule.claim(T0, limit=3, lease_s=LEASE_S):
            taken += [lease.feed_id for lease in leases]
        return taken

    taken = await asyncio.gather(*(poller(client) for client in replicas))

    every = [feed for each in taken for feed in each]
    assert sorted(every) == sorted(feeds)  # each feed handed out once, to one replica
    assert sum(1 for each in taken if each) > 1  # the replicas did share the work


async def test_an_expired_lease_makes_the_feed_due_again(registry: FeedRegistry, schedule: Schedule) -> None:
    [feed] = await _add(registry, 1)
    [first] = await schedule.claim(T0, limit=1, lease_s=LEASE_S)

    assert await schedule.claim(T0 + LEASE_S - 0.001, limit=1, lease_s=LEASE_S) == []
    [second] = await schedule.claim(T0 + LEASE_S, limit=1, lease_s=LEASE_S)

    assert first.feed_id == second.feed_id == feed
    assert first.token != second.token


async def test_complete_reschedules_and_writes_the_status(registry: FeedRegistry, schedule: Schedule) -> None:
    [feed] = await _add(registry, 1)
    [lease] = await schedule.claim(T0, limit=1, lease_s=LEASE_S)
    status = FeedStatus(last_status=200, items_seen=12, items_published=3, etag='"v1"')

    assert await schedule.complete(lease, T0 + 900, status)

    assert await _due(schedule, feed) == T0 + 900
    assert await schedule.redis.hexists(schedule.leases, feed) == 0
    stored = (await registry.get(feed)).status
    assert (stored.last_status, stored.items_seen, stored.items_published, stored.etag) == (
        200,
        12,
        3,
        '"v1"',
    )
    assert stored.next_poll_at == datetime.fromtimestamp(T0 + 900, UTC)
    assert not await schedule.complete(lease, T0 + 5, FeedStatus(last_status=500))  # the lease is spent
    assert await _due(schedule, feed) == T0 + 900


async def test_complete_with_a_lease_another_replica_took_does_nothing(
    registry: FeedRegistry, schedule: Schedule
) -> None:
    [feed] = await _add(registry, 1)
    [stalled] = await schedule.claim(T0, limit=1, lease_s=LEASE_S)
    [current] = await schedule.claim(T0 + LEASE_S + 1, limit=1, lease_s=LEASE_S)  # the lease ran out

    assert not await schedule.complete(stalled, T0 + 10, FeedStatus(last_status=500, last_error="late"))

    assert await _due(schedule, feed) == current.until
    assert (await registry.get(feed)).status.last_status is None
    assert await schedule.complete(current, T0 + 900, FeedStatus(last_status=304))
    assert (await registry.get(feed)).status.last_status == 304
    forged = Lease(feed, "not-a-token", current.until)
    assert not await schedule.complete(forged, T0, FeedStatus(last_status=500))


async def test_a_disabled_feed_leaves_the_schedule(registry: FeedRegistry, schedule: Schedule) -> None:
    [feed] = await _add(registry, 1)
    [lease] = await schedule.claim(T0, limit=1, lease_s=LEASE_S)
    plan = after_poll(FeedStatus(), Poll(status=410), interval_s=900, now=T0, rand=0.5)

    assert await schedule.complete(lease, plan.next_at, plan.status)

    assert await schedule.claim(T0 + 10 * BACKOFF_CAP_S, limit=10, lease_s=LEASE_S) == []
    shown = (await registry.get(feed)).status
    assert (shown.disabled, shown.disabled_reason, shown.next_poll_at) == (True, "410 Gone", None)


async def test_a_feed_removed_while_polled_stays_removed(
    registry: FeedRegistry, schedule: Schedule, prefix: str
) -> None:
    [feed] = await _add(registry, 1)
    [lease] = await schedule.claim(T0, limit=1, lease_s=LEASE_S)
    await registry.remove(feed)

    assert not await schedule.complete(lease, T0 + 900, FeedStatus(last_status=200))

    assert [k async for k in schedule.redis.scan_iter(match=f"{prefix}:*")] == []


async def test_claim_refuses_nonsense(schedule: Schedule) -> None:
    with pytest.raises(ValueError, match="positive"):
        await schedule.claim(T0, limit=0, lease_s=LEASE_S)
    with pytest.raises(ValueError, match="positive"):
        await schedule.claim(T0, limit=1, lease_s=0)


# ---------------------------------------------------------------------------------------------------------
# What a poll leaves: pure arithmetic


def test_success_waits_the_interval_and_resets_failures() -> None:
    before = FeedStatus(consecutive_failures=4, last_error="HTTP 503", items_seen=10, items_published=2)
    poll = Poll(
        200, items_seen=5, items_published=1, validator=Validator('"v2"', "Mon, 15 Jan 2024 07:00:00 GMT")
    )

    plan = after_poll(before, poll, interval_s=900, now=T0, rand=0.9)

    assert plan.next_at == T0 + 900
    new = plan.status
    assert (new.consecutive_failures, new.last_error, new.last_status) == (0, None, 200)
    assert (new.items_seen, new.items_published) == (15, 3)
    assert (new.etag, new.last_modified) == ('"v2"', "Mon, 15 Jan 2024 07:00:00 GMT")
    assert new.last_polled_at == datetime.fromtimestamp(T0, UTC)
    assert new.next_poll_at == datetime.fromtimestamp(T0 + 900, UTC)


def test_a_malformed_feed_read_as_far_as_it_goes_succeeds_with_its_error() -> None:
    before = FeedStatus(consecutive_failures=2, last_error="HTTP 503")
    poll = Poll(200, error="not well-formed XML at line 9, column 3: mismatched tag", items_seen=2)

    plan = after_poll(before, poll, interval_s=900, now=T0, rand=0.5)

    assert plan.next_at == T0 + 900
    assert (plan.status.consecutive_failures, plan.status.last_error) == (0, poll.error)


def test_not_modified_keeps_the_validator_and_a_permanent_redirect_is_recorded() -> None:
    before = FeedStatus(etag='"v1"', last_modified="Sun, 14 Jan 2024 07:00:00 GMT")

    plan = after_poll(
        before, Poll(304, permanent_url="https://new.example.com/rss"), interval_s=60, now=T0, rand=0.0
    )

    assert (plan.status.etag, plan.status.last_modified) == (before.etag, before.last_modified)
    assert plan.status.current_url == "https://new.example.com/rss"
    assert plan.next_at == T0 + 60
    failed = after_poll(plan.status, Poll(None, error="timeout"), interval_s=60, now=T0, rand=0.0)
    assert failed.status.current_url == "https://new.example.com/rss"  # kept until another redirect


def test_backoff_grows_with_each_failure_and_is_capped() -> None:
    most = [failure_wait(n, interval_s=900, retry_after=None, rand=1.0) for n in range(1, 10)]
    least = [failure_wait(n, interval_s=900, retry_after=None, rand=0.0) for n in range(1, 10)]

    cap = BACKOFF_CAP_S
    assert most == [900, 1800, 3600, 7200, 14400, cap, cap, cap, cap]
    assert least == [450, 900, 1800, 3600, 7200, cap / 2, cap / 2, cap / 2, cap / 2]
    assert failure_wait(1000, interval_s=900, retry_after=None, rand=1.0) == cap  # no overflow
    # A feed polled less often than the cap is never retried later than its interval.
    assert failure_wait(8, interval_s=2 * cap, retry_after=None, rand=1.0) == 2 * cap


def test_failures_count_up_and_back_off_from_the_status() -> None:
    status, waits = FeedStatus(), []
    for n in range(1, 8):
        plan = after_poll(status, Poll(503, error="retry_later: HTTP 503"), interval_s=60, now=T0, rand=1.0)
        status = plan.status
        assert plan.next_at is not None
        waits.append(plan.next_at - T0)
        assert (status.consecutive_failures, status.last_error) == (n, "retry_later: HTTP 503")
    assert waits == [60, 120, 240, 480, 960, 1920, 3840]
    assert after_poll(status, Poll(404), interval_s=60, now=T0, rand=1.0).status.last_error == "HTTP 404"
    assert after_poll(status, Poll(None), interval_s=60, now=T0, rand=1.0).status.last_error == "no answer"


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [(None, 900.0), (30.0, 900.0), (5000.0, 5000.0), (10 * RETRY_AFTER_MAX_S, RETRY_AFTER_MAX_S)],
)
def test_retry_after_is_honoured_within_bounds(retry_after: float | None, wait: float) -> None:
    plan = after_poll(FeedStatus(), Poll(429, retry_after=retry_after), interval_s=900, now=T0, rand=1.0)

    assert plan.next_at == T0 + wait


def test_gone_disables_the_feed() -> None:
    plan = after_poll(FeedStatus(etag='"v1"'), Poll(410), interval_s=900, now=T0, rand=0.5)

    assert plan.next_at is None
    new = plan.status
    assert (new.disabled, new.disabled_reason, new.last_status, new.next_poll_at) == (
        True,
        "410 Gone",
        410,
        None,
    )
    assert new.etag == '"v1"'
