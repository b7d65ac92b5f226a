"""Publish accepted articles to the raw stream exactly once per article id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from redis.asyncio import Redis

from services.contracts import RAW_EVENT, RawArticle, raw_stream, seen_key
from services.runtime import codec

Outcome = Literal["accepted", "duplicate"]

# Check, append, then remember, in one atomic step: a failed XADD leaves the id unseen, so a retry
# publishes it; a second post of the same id publishes nothing.
_PUBLISH_ONCE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return false end
local entry = redis.call('XADD', KEYS[2], '*', '__data__', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
return entry
"""


class Publisher:
    """Append raw articles to ``<prefix>:raw`` unless their id was published before."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = [seen_key(prefix), raw_stream(prefix)]
        self.script = redis.register_script(_PUBLISH_ONCE)

    async def publish(self, articles: Sequence[RawArticle]) -> list[Outcome]:
        """Publish the articles through one pipeline; say for each whether it was new."""
        if not articles:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for article in articles:
                data = codec.encode(article, event_type=RAW_EVENT, correlation_id=article.id)
                await self.script(keys=self.keys, args=[article.id, data], client=pipe)
            results = await pipe.execute()
        return ["accepted" if r else "duplicate" for r in results]
