"""Consumer groups: create them where nothing is missed, and read how far each trails its stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.contracts import pipeline_groups
from services.runtime import ids
from services.runtime.codec import text


async def ensure_group(redis: Redis, stream: str, group: str) -> bool:
    """Create ``group`` at ``0`` with MKSTREAM, so nothing posted before its first start is missed.

    Returns True when the group was created, False when it existed already.
    """
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        return False
    return True


@dataclass(frozen=True, slots=True)
class Protected:
    """The consumer groups of one stream whose unacknowledged entries are never trimmed.

    ``pipeline``: the stages that read the stream; each protects all of it even before it exists, so
    nothing is trimmed ahead of a stage's first start. ``subscribers``: the groups of PROTECTED_GROUPS;
    each protects a stream once it was created on it (an analytics group on the enriched stream does not
    hold back the raw one).
    """

    pipeline: frozenset[str]
    subscribers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, prefix: str, stream: str, subscribers: frozenset[str] = frozenset()) -> Protected:
        """The pipeline's groups on ``stream`` of ``prefix``, and ``subscribers``."""
        return cls(pipeline_groups(prefix, stream), subscribers)

    def __contains__(self, name: object) -> bool:
        return name in self.pipeline or name in self.subscribers


@dataclass(frozen=True, slots=True)
class GroupState:
    """One consumer group of a stream, as XINFO GROUPS and XPENDING describe it."""

    name: str
    consumers: int
    pending: int  # delivered, not yet acknowledged
    lag: int  # in the stream, not yet delivered
    last_delivered: ids.EntryId
    entries_read: int | None
    oldest_pending: ids.EntryId | None = None


@dataclass(frozen=True, slots=True)
class StreamState:
    """A stream's length, the entries ever added to it, and its consumer groups."""

    stream: str
    length: int
    entries_added: int
    first: ids.EntryId | None
    groups: tuple[GroupState, ...]

    def _missing(self, protected: Protected) -> list[str]:
        return sorted(protected.pipeline - {g.name for g in self.groups})

    def behind(self, protected: Protected) -> tuple[str | None, int]:
        """The protected group with most entries not yet acknowledged (lag + pending), and how many.

        A pipeline group that does not exist yet has the whole stream ahead of it.
        """
        if missing := self._missing(protected):
            return missing[0], self.length
        counts = [(g.lag + g.pending, g.name) for g in self.groups if g.name in protected]
        most, name = max(counts, default=(0, None))
        return name, most

    def floor(self, protected: Protected) -> ids.EntryId:
        """The first entry a protected group still needs; every entry before it is acknowledged.

        A pipeline group that does not exist yet needs everything.
        """
        if self._missing(protected):
            return ids.ZERO
        found = [g for g in self.groups if g.name in protected]
        return min(
            (g.oldest_pending if g.pending and g.oldest_pending else g.last_delivered.next() for g in found),
            default=ids.ZERO,
        )

    def read_in_stream(self, group: GroupState) -> int | None:
        """How many of the entries now in the stream ``group`` has read (they are the oldest ones), or
        None when Redis cannot say (a group placed at an arbitrary id that never read since)."""
        if self.first is None or group.last_delivered < self.first:
            return 0
        if group.entries_read is None:
            return None
        return max(group.entries_read - (self.entries_added - self.length), 0)


def _lag(group: dict[str, Any], length: int, added: int) -> int:
    # Redis counts the lag itself unless entries were deleted in between; then entries added minus
    # entries read; a group that never read anything has the whole stream ahead of it.
    if group.get("lag") is not None:
        return int(group["lag"])
    if group.get("entries-read") is not None:
        return max(added - int(group["entries-read"]), 0)
    return length


async def stream_state(redis: Redis, stream: str, *, with_pending: bool = False) -> StreamState | None:
    """Describe ``stream`` and its groups, or return None when it does not exist.

    ``with_pending`` also reads each group's oldest pending entry (one XPENDING per group).
    """
    try:
        info = await redis.xinfo_stream(stream)
        raw_groups = await redis.xinfo_groups(stream)
    except ResponseError as exc:
        if "no such key" in str(exc).lower():
            return None
        raise
    length, added = int(info["length"]), int(info.get("entries-added") or info["length"])
    first = info.get("first-entry")
    groups = []
    for g in raw_groups:
        oldest = None
        if with_pending and int(g["pending"]):
            summary = await redis.xpending(stream, text(g["name"]))
            oldest = ids.parse(summary["min"]) if summary.get("min") else None
        groups.append(
            GroupState(
                name=text(g["name"]),
                consumers=int(g["consumers"]),
                pending=int(g["pending"]),
                lag=_lag(g, length, added),
                last_delivered=ids.parse(g["last-delivered-id"]),
                entries_read=int(g["entries-read"]) if g.get("entries-read") is not None else None,
                oldest_pending=oldest,
            )
        )
    return StreamState(
        stream=stream,
        length=length,
        entries_added=added,
        first=ids.parse(first[0]) if first else None,
        groups=tuple(groups),
    )
