"""Where ingest remembers which article ids it published: a window of hashed ids in small Redis sets.

Time is cut into periods as long as the window (period ``n`` starts at ``n * window`` seconds after the
Unix epoch). An id published in period ``n`` is written, as a signed 64-bit integer, to one of
``buckets`` sets of that period; it counts as published while it is in the current or the previous
period's bucket. So an id is remembered for at least one window and less than two, and memory holds two
periods of ids however long ingest runs.

Integers in sets of at most ``set-max-intset-entries`` (512 by default) members are stored by Redis as
packed arrays (intsets): 8 bytes per id instead of about 70 for a hash table of text ids. The bucket
comes from other bits of the hash than the member, so two ids collide only if 64 + log2(buckets) bits
agree.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from services.contracts import dedup_key

DEFAULT_WINDOW = timedelta(days=2)
# 1.5 M articles a day over a 2-day window fill each bucket with ~180 ids: under Redis' intset limit
# of 512 with room for chance and for growth.
DEFAULT_BUCKETS = 16384


def id_hash(article_id: str) -> tuple[int, int]:
    """Hash an article id to ``(member, spread)``: a signed 64-bit integer kept in Redis, and an
    unsigned 64-bit integer that picks the bucket. Stable across processes and versions (BLAKE2b)."""
    digest = hashlib.blake2b(article_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True), int.from_bytes(digest[8:16], "big")


@dataclass(frozen=True)
class Slot:
    """Where one id is looked up and remembered at one instant.

    ``current`` and ``previous`` are the bucket keys of this period and the one before; ``member`` is the
    id's hash as Redis stores it; ``ttl`` (seconds, at least 1) keeps ``current`` until the next
    period ends, the last moment a lookup reads it.
    """

    current: str
    previous: str
    member: int
    ttl: int


@dataclass(frozen=True)
class DedupWindow:
    """The de-duplication window of one stream prefix: ``window`` long, ``buckets`` sets per period.

    Raises ValueError for a window under one second or fewer than one bucket.
    """

    prefix: str
    window: timedelta = DEFAULT_WINDOW
    buckets: int = DEFAULT_BUCKETS

    def __post_init__(self) -> None:
        if self.window < timedelta(seconds=1):
            raise ValueError(f"the de-duplication window must be at least one second, not {self.window}")
        if self.buckets < 1:
            raise ValueError(f"the de-duplication window needs at least one bucket, not {self.buckets}")

    def period(self, now: float) -> int:
        """The period holding ``now`` (Unix seconds)."""
        return math.floor(now / self.window.total_seconds())

    def slot(self, article_id: str, now: float) -> Slot:
        """The keys, member and TTL for ``article_id`` at ``now`` (Unix seconds)."""
        member, spread = id_hash(article_id)
        bucket = spread % self.buckets
        period = self.period(now)
        length = self.window.total_seconds()
        # A lookup reads this period's bucket until the next period ends; after that it is dead weight.
        ttl = max(1, math.ceil((period + 2) * length - now))
        return Slot(
            current=dedup_key(self.prefix, period, bucket),
            previous=dedup_key(self.prefix, period - 1, bucket),
            member=member,
            ttl=ttl,
        )
