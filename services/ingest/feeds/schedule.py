"""When each feed is polled, by one poller replica at a time: a due set with leases, and backoff.

Any number of pollers share ``<prefix>:feeds:due`` (feed id -> when it is due, Unix seconds):

- ``claim`` takes up to ``limit`` feeds due by ``now`` and, in the same script, moves each one's due time
  to the end of its lease and records the claim's token in ``<prefix>:feeds:leases``. No other replica
  can claim them until the lease runs out; if the poller dies or stalls, the feed is simply due again.
- ``complete`` reschedules the feed and writes its status only while the token recorded is the claim's:
  a replica whose lease ran out and was taken by another changes nothing.

What happens after a poll (``after_poll``) is arithmetic: success waits the feed's interval; a failure
waits an exponential backoff with jitter from the interval up to ``BACKOFF_CAP_S``, or longer when the
server's Retry-After says so (up to ``RETRY_AFTER_MAX_S``); 410 Gone disables the feed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from services.contracts import feed_key, feeds_due_key, feeds_leases_key
from services.fetch.results import Validator
from services.fetch.retry import backoff
from services.ingest.feeds.registry import FeedStatus, encode_fields

BACKOFF_CAP_S = 6 * 3600.0  # a failing feed is tried at least every six hours (or its interval)
RETRY_AFTER_MAX_S = 24 * 3600.0  # a server asking for longer is asked again after a day

# Take what is due, oldest first, and lease it. KEYS: the due set, the leases.
# ARGV: now, limit, lease end, token. Returns the ids taken.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  redis.call('HSET', KEYS[2], id, ARGV[4])
end
return due
"""

# While the lease is the caller's: end it, reschedule (or unschedule: next at '') and write the status.
# KEYS: the due set, the leases, the feed's hash. ARGV: id, token, next at, status fields and values.
_COMPLETE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
if #ARGV > 3 then redis.call('HSET', KEYS[3], unpack(ARGV, 4)) end
return 1
"""


@dataclass(frozen=True, slots=True)
class Lease:
    """One feed claimed by one poller until ``until`` (Unix seconds); ``token`` proves the claim."""

    feed_id: str
    token: str
    until: float


class Schedule:
    """The due set and leases of one deployment; ``prefix`` is the settings' stream prefix as keys are
    named."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix
        self.due, self.leases = feeds_due_key(prefix), feeds_leases_key(prefix)

    async def claim(self, now: float, limit: int, lease_s: float) -> list[Lease]:
        """Take up to ``limit`` feeds due by ``now``, each leased to this caller for ``lease_s``."""
        if limit < 1 or lease_s <= 0:
            raise ValueError(f"claim(limit={limit}, lease_s={lease_s}): both must be positive")
        token, until = secrets.token_hex(8), now + lease_s
        # EVAL, not EVALSHA: a cluster client refuses EVALSHA in pipelines; Redis caches by hash anyway.
        ids = await self.redis.eval(_CLAIM, 2, self.due, self.leases, now, limit, until, token)
        return [Lease(i.decode(), token, until) for i in ids]

    async def complete(self, lease: Lease, next_at: float | None, status: FeedStatus | None = None) -> bool:
        """Reschedule the leased feed at ``next_at`` (None: take it off the schedule, as for a disabled
        feed) and write ``status``; False, changing nothing, when the lease is no longer ours or the feed
        was removed."""
        key = feed_key(self.prefix, lease.feed_id)
        fields = encode_fields(status, exclude={"next_poll_at"}) if status is not None else {}
        flat = [item for pair in fields.items() for item in pair]
        done = await self.redis.eval(
            _COMPLETE,
            3,
            self.due,
            self.leases,
            key,
            lease.feed_id,
            lease.token,
            "" if next_at is None else next_at,
            *flat,
        )
        return bool(int(done))


@dataclass(frozen=True, slots=True)
class Poll:
    """What one poll of a feed found, as the poller reports it."""

    status: int | None  # the HTTP status; None when no answer came (timeout, network, refused)
    error: str | None = None  # why it failed; on a success, what was wrong with the feed (malformed)
    retry_after: float | None = None  # seconds, as services.fetch.RetryLater carries it
    items_seen: int = 0
    items_published: int = 0
    validator: Validator | None = None
    permanent_url: str | None = None

    @property
    def succeeded(self) -> bool:
        """A 2xx answer or 304 Not Modified."""
        return self.status is not None and (200 <= self.status < 300 or self.status == 304)


@dataclass(frozen=True, slots=True)
class Plan:
    """The feed's status after a poll, and when it is next due (None: disabled)."""

    status: FeedStatus
    next_at: float | None


def failure_wait(failures: int, *, interval_s: float, retry_after: float | None, rand: float) -> float:
    """Seconds until a feed that failed ``failures`` times in a row (1 or more) is asked again:
    ``backoff`` from the interval (half to one interval after the first failure, doubling after each),
    capped at ``BACKOFF_CAP_S`` (or the interval if longer), and never before Retry-After asks for."""
    cap = max(BACKOFF_CAP_S, float(interval_s))
    wait = backoff(max(failures - 1, 0), base=float(interval_s), cap=cap, rand=rand)
    if retry_after is not None:
        wait = max(wait, min(retry_after, RETRY_AFTER_MAX_S))
    return wait


def after_poll(status: FeedStatus, poll: Poll, *, interval_s: float, now: float, rand: float) -> Plan:
    """The status a poll leaves and the next poll's time; ``rand`` in [0, 1] jitters a backoff."""
    at = datetime.fromtimestamp(now, UTC)
    new = status.model_copy(
        update={
            "last_polled_at": at,
            "last_status": poll.status,
            "items_seen": status.items_seen + poll.items_seen,
            "items_published": status.items_published + poll.items_published,
            "current_url": poll.permanent_url or status.current_url,
        }
    )
    if poll.status == 410:
        new.disabled, new.disabled_reason = True, "410 Gone"
        new.last_error, new.consecutive_failures = poll.error or "HTTP 410", status.consecutive_failures + 1
        new.next_poll_at = None
        return Plan(new, None)
    if poll.succeeded:  # a malformed feed read as far as it goes keeps what the parser said
        new.consecutive_failures, new.last_error = 0, poll.error
        if poll.validator is not None:
            new.etag, new.last_modified = poll.validator.etag, poll.validator.last_modified
        next_at = now + interval_s
    else:
        new.consecutive_failures = status.consecutive_failures + 1
        new.last_error = poll.error or (f"HTTP {poll.status}" if poll.status else "no answer")
        wait = failure_wait(
            new.consecutive_failures, interval_s=interval_s, retry_after=poll.retry_after, rand=rand
        )
        next_at = now + wait
    new.next_poll_at = datetime.fromtimestamp(next_at, UTC)
    return Plan(new, next_at)
