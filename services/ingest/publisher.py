"""Publish accepted articles to the raw stream once per article id within the de-duplication window."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Literal

from redis.asyncio import Redis

from services.contracts import RAW_EVENT, RawArticle, raw_stream
from services.ingest.dedup import DEFAULT_BUCKETS, DEFAULT_WINDOW, DedupWindow
from services.runtime import codec

Outcome = Literal["accepted", "duplicate"]

# Check, append, then remember, in one atomic step: a failed XADD leaves the id unseen, so a retry
# publishes it; a second post of the same id within the window publishes nothing.
# KEYS: this period's bucket, the previous period's bucket, the raw stream (each declared, none built
# inside the script). ARGV: the id's 64-bit hash, the entry, seconds the bucket must live.
_PUBLISH_ONCE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return false
end
local entry = redis.call('XADD', KEYS[3], '*', '__data__', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return entry
"""


class Publisher:
    """Append raw articles to ``<prefix>:raw`` unless their id was published within the window.

    ``window`` and ``buckets`` shape the de-duplication window (services/ingest/dedup.py); ``clock``
    gives Unix seconds.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        window: timedelta = DEFAULT_WINDOW,
        buckets: int = DEFAULT_BUCKETS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.stream = raw_stream(prefix)
        self.dedup = DedupWindow(prefix, window, buckets)
        self.clock = clock
        self.script = redis.register_script(_PUBLISH_ONCE)

    async def publish(self, articles: Sequence[RawArticle]) -> list[Outcome]:
        """Publish the articles through one pipeline; say for each whether it was new. Redis errors
        propagate."""
        if not articles:
            return []
        now = self.clock()
        async with self.redis.pipeline(transaction=False) as pipe:
            for article in articles:
                data = codec.encode(article, event_type=RAW_EVENT, correlation_id=article.id)
                slot = self.dedup.slot(article.id, now)
                await self.script(
                    keys=[slot.current, slot.previous, self.stream],
                    args=[slot.member, data, slot.ttl],
                    client=pipe,
                )
            results = await pipe.execute()
        return ["accepted" if r else "duplicate" for r in results]
