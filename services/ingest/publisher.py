"""Publish accepted articles to the raw stream once per article id within the de-duplication window."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from redis.asyncio import Redis

from services.contracts import RAW_EVENT, PageRequest, RawArticle, raw_stream
from services.errors import Unavailable
from services.ingest.dedup import DEFAULT_BUCKETS, DEFAULT_WINDOW, DedupWindow
from services.runtime import codec
from services.runtime.connection import same_node

Outcome = Literal["accepted", "duplicate"]

# Check, append, then remember, in one atomic step: a failed XADD leaves the id unseen, so a retry
# publishes it; a second post of the same id within the window publishes nothing.
# KEYS: this period's bucket, the previous period's bucket, the raw stream (each declared, none built
# inside the script; on a Redis Cluster all three are in the prefix's hash slot). ARGV: the id's 64-bit
# hash, the entry, seconds the bucket must live.
PUBLISH_ONCE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return false
end
local entry = redis.call('XADD', KEYS[3], '*', '__data__', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return entry
"""

# The same step for ids claimed before (a page queued for fetching claimed its article's id): append and
# remember, without the check. Same KEYS and ARGV.
PUBLISH_CLAIMED = """
local entry = redis.call('XADD', KEYS[3], '*', '__data__', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return entry
"""

AOF_RETRY_AFTER_S = 1  # an fsync is due within a second under appendfsync everysec


@dataclass(frozen=True)
class Durability:
    """What a publish waits for before it counts as done; by default nothing past Redis' memory.

    ``aof_ms``: wait that long for Redis to fsync the writes to its own append-only file (WAITAOF,
    Redis 7.2+). ``replicas``: wait ``replicas_ms`` for that many replicas to acknowledge them (WAIT;
    on a Redis Cluster, the replicas of the master holding the prefix's slot).
    """

    aof_ms: int | None = None
    replicas: int = 0
    replicas_ms: int = 1000


class Publisher:
    """Append raw articles to ``<prefix>:raw`` unless their id was published within the window.

    ``window`` and ``buckets`` shape the de-duplication window (services/ingest/dedup.py); ``clock``
    gives Unix seconds; ``durability`` says what each publish waits for. ``stream`` and ``event_type``
    name another stream of the prefix written the same way: pages to fetch, each claiming the id of
    the article it becomes.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        window: timedelta = DEFAULT_WINDOW,
        buckets: int = DEFAULT_BUCKETS,
        clock: Callable[[], float] = time.time,
        durability: Durability = Durability(),
        stream: Callable[[str], str] = raw_stream,
        event_type: str = RAW_EVENT,
    ) -> None:
        self.redis = redis
        self.stream = stream(prefix)
        self.event_type = event_type
        self.dedup = DedupWindow(prefix, window, buckets)
        self.clock = clock
        self.durability = durability

    async def publish(
        self, articles: Sequence[RawArticle | PageRequest], *, claimed: bool = False
    ) -> list[Outcome]:
        """Publish the articles through one pipeline; say for each whether it was new.

        ``claimed``: the ids were claimed in the window when their pages were queued; publish them
        without the check. Raises Unavailable (503) when the writes did not reach what ``durability``
        asks for in time: the articles may be published, and a re-post is then a duplicate. Redis errors
        propagate.
        """
        if not articles:
            return []
        now = self.clock()
        wanted = self.durability
        script = PUBLISH_CLAIMED if claimed else PUBLISH_ONCE
        async with self.redis.pipeline(transaction=False) as pipe:
            for article in articles:
                data = codec.encode(article, event_type=self.event_type, correlation_id=article.id)
                slot = self.dedup.slot(article.id, now)
                # EVAL, not EVALSHA: a cluster pipeline refuses EVALSHA, and Redis caches the script by
                # its hash either way.
                pipe.eval(script, 3, slot.current, slot.previous, self.stream, slot.member, data, slot.ttl)
            # Each wait runs on the connection that made the writes, and waits for its writes only.
            node = same_node(self.redis, self.stream)
            if wanted.aof_ms is not None:
                pipe.execute_command("WAITAOF", 1, 0, wanted.aof_ms, **node)
            if wanted.replicas:
                pipe.execute_command("WAIT", wanted.replicas, wanted.replicas_ms, **node)
            results = await pipe.execute(raise_on_error=False)
        replicas = results.pop() if wanted.replicas else None
        aof = results.pop() if wanted.aof_ms is not None else None
        for result in results:
            if isinstance(result, Exception):
                raise result
        if wanted.aof_ms is not None:
            confirm_aof(aof, wanted.aof_ms)
        if wanted.replicas:
            confirm_replicas(replicas, wanted.replicas, wanted.replicas_ms)
        return ["accepted" if r else "duplicate" for r in results]

    async def forget(self, article_ids: Sequence[str]) -> None:
        """Take ids out of the window, so that they are published again when next posted: the ids of
        pages that were queued but will never become articles."""
        now = self.clock()
        async with self.redis.pipeline(transaction=False) as pipe:
            for article_id in article_ids:
                slot = self.dedup.slot(article_id, now)
                pipe.srem(slot.current, slot.member)
                pipe.srem(slot.previous, slot.member)
            await pipe.execute()


def _unconfirmed(what: str, setting: str, reason: str, retry_after: int) -> Unavailable:
    return Unavailable(
        f"the write did not reach {what} ({setting}): {reason}; the article may be published all the "
        f"same: post it again once {what} can confirm writes (a published one is then answered as a "
        "duplicate)",
        retry_after=retry_after,
    )


def confirm_aof(reply: Any, timeout_ms: int) -> None:
    """Raise Unavailable unless a WAITAOF reply (``[local, replicas]``, or the error it raised) says
    the local append-only file holds the writes."""
    if isinstance(reply, Exception):
        reason = f"Redis could not confirm it ({reply})"
    elif not reply or int(reply[0]) < 1:
        reason = f"Redis did not fsync it within {timeout_ms} ms"
    else:
        return
    raise _unconfirmed("Redis' append-only file", "INGEST_WAIT_AOF", reason, AOF_RETRY_AFTER_S)


def confirm_replicas(reply: Any, wanted: int, timeout_ms: int) -> None:
    """Raise Unavailable unless a WAIT reply (how many replicas acknowledged, or the error it raised)
    reaches ``wanted``."""
    if isinstance(reply, Exception):
        reason = f"Redis could not confirm it ({reply})"
    elif int(reply) < wanted:
        reason = f"{int(reply)} of {wanted} replicas acknowledged it within {timeout_ms} ms"
    else:
        return
    raise _unconfirmed("Redis' replicas", "INGEST_WAIT_REPLICAS", reason, max(1, timeout_ms // 1000))
