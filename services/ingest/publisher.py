"""Publish accepted articles to the raw stream once per article id within the de-duplication window."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Literal

from redis.asyncio import Redis

from services.contracts import RAW_EVENT, RawArticle, raw_stream
from services.errors import Unavailable
from services.ingest.dedup import DEFAULT_BUCKETS, DEFAULT_WINDOW, DedupWindow
from services.runtime import codec

Outcome = Literal["accepted", "duplicate"]

# Check, append, then remember, in one atomic step: a failed XADD leaves the id unseen, so a retry
# publishes it; a second post of the same id within the window publishes nothing.
# KEYS: this period's bucket, the previous period's bucket, the raw stream (each declared, none built
# inside the script). ARGV: the id's 64-bit hash, the entry, seconds the bucket must live.
PUBLISH_ONCE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return false
end
local entry = redis.call('XADD', KEYS[3], '*', '__data__', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return entry
"""

AOF_RETRY_AFTER_S = 1  # an fsync is due within a second under appendfsync everysec


class Publisher:
    """Append raw articles to ``<prefix>:raw`` unless their id was published within the window.

    ``window`` and ``buckets`` shape the de-duplication window (services/ingest/dedup.py); ``clock``
    gives Unix seconds. With ``wait_aof_ms``, each publish waits up to that many milliseconds for Redis
    to fsync its writes to the local append-only file (WAITAOF, Redis 7.2+).
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        window: timedelta = DEFAULT_WINDOW,
        buckets: int = DEFAULT_BUCKETS,
        clock: Callable[[], float] = time.time,
        wait_aof_ms: int | None = None,
    ) -> None:
        self.redis = redis
        self.stream = raw_stream(prefix)
        self.dedup = DedupWindow(prefix, window, buckets)
        self.clock = clock
        self.wait_aof_ms = wait_aof_ms
        self.script = redis.register_script(PUBLISH_ONCE)

    async def publish(self, articles: Sequence[RawArticle]) -> list[Outcome]:
        """Publish the articles through one pipeline; say for each whether it was new.

        Raises Unavailable (503) when ``wait_aof_ms`` is set and the writes did not reach the local
        append-only file in time: the articles may be published, and a re-post is then a duplicate.
        Redis errors propagate.
        """
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
            if self.wait_aof_ms is not None:
                # On the pipeline's own connection: WAITAOF waits for this connection's writes only.
                pipe.waitaof(1, 0, self.wait_aof_ms)
            results = await pipe.execute(raise_on_error=False)
        aof = results.pop() if self.wait_aof_ms is not None else None
        for result in results:
            if isinstance(result, Exception):
                raise result
        if self.wait_aof_ms is not None:
            confirm_aof(aof, self.wait_aof_ms)
        return ["accepted" if r else "duplicate" for r in results]


def confirm_aof(reply: Any, timeout_ms: int) -> None:
    """Raise Unavailable unless a WAITAOF reply (``[local, replicas]``, or the error it raised) says
    the local append-only file holds the writes."""
    if isinstance(reply, Exception):
        reason = f"Redis could not confirm it ({reply})"
    elif not reply or int(reply[0]) < 1:
        reason = f"Redis did not fsync it within {timeout_ms} ms"
    else:
        return
    raise Unavailable(
        f"the write did not reach Redis' append-only file (INGEST_WAIT_AOF): {reason}; the article "
        "may be published all the same: post it again (a published one is answered as a duplicate)",
        retry_after=AOF_RETRY_AFTER_S,
    )
