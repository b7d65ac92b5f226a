"""Retention: a stream is trimmed below what every protected consumer group acknowledged, never above.

Policy, for ``<prefix>:raw`` and ``<prefix>:enriched``:

- protected groups are the pipeline's (``enrich`` on raw, ``store`` on enriched) and those named in
  ``PROTECTED_GROUPS``; an entry one of them has not acknowledged is never trimmed (``XTRIM MINID``
  below the oldest such entry, read from XINFO GROUPS and XPENDING);
- an entry every protected group acknowledged stays for other readers (their own consumer groups,
  XREAD clients, the live feed) for ``STREAM_RETENTION``, while the stream holds at most half of
  ``STREAM_MAXLEN``; beyond, the oldest such entries go first;
- ``STREAM_MAXLEN`` bounds the stream by refusing new work (ingest answers 503, enrich pauses), never
  by trimming what a protected group has not read.

A group that is not protected and falls behind is overrun: the process whose trim removed entries the
group had not read counts them in ``<stream>:overrun`` (shown by ``GET /v1/stats``) and in
``wirestream_group_overrun_total``, and logs a WARNING (then at most once a minute per group).
The dead-letter stream is trimmed by age alone, after ``DEAD_RETENTION``, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from services import metrics
from services.contracts import overrun_key
from services.runtime import ids
from services.runtime.codec import text
from services.runtime.groups import Protected, StreamState, stream_state

log = logging.getLogger(__name__)
TRIM_EVERY_S = 1.0
WARN_EVERY_S = 60.0  # a group that never reads is overrun by every trim: say so once a minute

# The id of the entry at a position from the start: the first one a trim to that length keeps.
_ENTRY_AT = """
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])
if #entries == 0 then return false end
return entries[#entries][1]
"""


def _since(ago: timedelta) -> ids.EntryId:
    return ids.EntryId(max(int((time.time() - ago.total_seconds()) * 1000), 0), 0)


@dataclass
class Retention:
    """Trim one stream by the policy above; ``run`` is cheap to call often and safe from any process."""

    redis: Redis
    stream: str
    protected: Protected
    retention: timedelta
    cap: int
    _warned_at: dict[str, float] = field(default_factory=dict)

    async def run(self) -> int:
        """Trim what the policy allows; report groups overrun; return the entries removed."""
        state = await stream_state(self.redis, self.stream, with_pending=True)
        if state is None or state.first is None:
            return 0
        floor = state.floor(self.protected)
        keep_from = min(floor, _since(self.retention))
        if state.length > self.cap // 2:  # acknowledged entries make room for new work first
            at = await self.redis.eval(_ENTRY_AT, 1, self.stream, state.length - self.cap // 2 + 1)
            if at is not None:
                keep_from = max(keep_from, min(floor, ids.parse(text(at))))
        if keep_from <= state.first:
            return 0
        read = await self._read_by_laggards(state, keep_from)
        removed = int(await self.redis.xtrim(self.stream, minid=str(keep_from), approximate=True))
        if removed:
            metrics.TRIMMED.labels(stream=self.stream).inc(removed)
            await self._count_overruns(read, removed)
        return removed

    async def _read_by_laggards(self, state: StreamState, keep_from: ids.EntryId) -> dict[str, int]:
        """For each unprotected group with unread entries before ``keep_from``: how many of the entries
        in the stream it has read (the oldest ones)."""
        read: dict[str, int] = {}
        for group in state.groups:
            if group.name in self.protected or group.last_delivered.next() >= keep_from:
                continue
            count = state.read_in_stream(group)
            if count is None:  # Redis cannot say: count the entries up to its position
                upto = str(group.last_delivered)
                count = len(await self.redis.xrange(self.stream, "-", upto, count=state.length) or [])
            read[group.name] = count
        return read

    async def _count_overruns(self, read: dict[str, int], removed: int) -> None:
        # The trim removed the ``removed`` oldest entries; a group had read the oldest ``read[group]``.
        for group, count in read.items():
            missed = removed - count
            if missed <= 0:
                continue
            total = int(await self.redis.hincrby(overrun_key(self.stream), group, missed))
            metrics.OVERRUN.labels(stream=self.stream, group=group).inc(missed)
            if time.monotonic() - self._warned_at.get(group, -WARN_EVERY_S) >= WARN_EVERY_S:
                self._warned_at[group] = time.monotonic()
                log.warning(
                    "consumer group %s on %s was overrun: %d entries it had not read were trimmed, %d in "
                    "all (protect it with PROTECTED_GROUPS, or read faster)",
                    group,
                    self.stream,
                    missed,
                    total,
                )


async def trim_forever(
    retention: Retention,
    stopping: asyncio.Event,
    *,
    dead: str | None = None,
    dead_retention: timedelta | None = None,
) -> None:
    """Trim a stream (and age out the dead letters of ``dead``) every second until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            await retention.run()
            if dead is not None and dead_retention is not None:
                await expire_dead(retention.redis, dead, dead_retention)
        except Exception as exc:  # Redis away: the next round tries again
            log.warning("trimming %s failed: %s: %s", retention.stream, type(exc).__name__, exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), TRIM_EVERY_S)


async def expire_dead(redis: Redis, stream: str, retention: timedelta) -> int:
    """Remove dead letters older than ``retention``; count and log them. Returns how many."""
    removed = int(await redis.xtrim(stream, minid=str(_since(retention)), approximate=True))
    if removed:
        metrics.DEAD_EXPIRED.inc(removed)
        log.warning("%d dead letters of %s aged out after %s", removed, stream, retention)
    return removed


@dataclass
class Room:
    """Whether a stage may write one more batch into its output stream without passing the cap.

    Before it says no, it trims what every protected reader of the output acknowledged (at most twice a
    second), so a stage pauses only for entries a protected group has not read yet.
    """

    retention: Retention
    batch: int
    _trimmed_at: float = 0.0

    async def __call__(self) -> bool:
        length = int(await self.retention.redis.xlen(self.retention.stream))
        if length + self.batch <= self.retention.cap:
            return True
        if time.monotonic() - self._trimmed_at >= 0.5:
            self._trimmed_at = time.monotonic()
            await self.retention.run()
            length = int(await self.retention.redis.xlen(self.retention.stream))
        return length + self.batch <= self.retention.cap
