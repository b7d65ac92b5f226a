"""Protect the pipeline from its clients: per-client rate limits, and backpressure on every hop."""

from __future__ import annotations

import math
import time

from redis.asyncio import Redis

from services import metrics
from services.contracts import (
    ENRICH_GROUP,
    FETCH_GROUP,
    STORE_GROUP,
    enriched_stream,
    fetch_stream,
    raw_stream,
)
from services.errors import Unavailable
from services.ingest.settings import PublishSettings
from services.runtime.groups import Protected, StreamState, stream_state

# A token bucket per client in one hash: refill by elapsed time, take one token if there is one.
_TAKE_TOKEN = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


class RateLimiter:
    """Allow each client ``rate`` requests per second with bursts of ``burst``; shared by all replicas."""

    def __init__(self, redis: Redis, prefix: str, rate: float, burst: int) -> None:
        self.redis, self.prefix, self.rate, self.burst = redis, prefix, rate, max(burst, 1)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    async def retry_after(self, client: str) -> int:
        """Take a token for ``client``; return 0 when allowed, else the seconds until the next token."""
        if not self.enabled:
            return 0
        key = f"{self.prefix}:ratelimit:{client}"
        allowed, tokens = await self.redis.eval(_TAKE_TOKEN, 1, key, self.rate, self.burst, time.time())
        if int(allowed):
            return 0
        return max(1, math.ceil((1 - float(tokens)) / self.rate))


class Backpressure:
    """Refuse new articles while a stage is too far behind or the raw stream is at its cap.

    The pipeline's streams are never trimmed past a protected reader (services/runtime/retention.py),
    so their size is bounded here, at the door: 503 with Retry-After, naming who is behind, when

    - a protected reader of ``<prefix>:enriched`` (the store, a PROTECTED_GROUPS group) has not
      acknowledged 90% of STREAM_MAXLEN entries: enrich is about to pause for it;
    - a protected reader of ``<prefix>:raw`` (enrich) has not acknowledged ``raw_limit`` entries;
    - ``<prefix>:raw`` would pass STREAM_MAXLEN;

    and, for pages to fetch (``check_pages``), when the fetch stage (or a protected reader of
    ``<prefix>:fetch``) has STREAM_MAXLEN pages not yet acknowledged.

    Figures are read at most every ``refresh_s``; articles accepted since count as not yet read.
    """

    def __init__(self, redis: Redis, settings: PublishSettings, refresh_s: float = 0.2) -> None:
        prefix = settings.stream_prefix
        self.redis, self.refresh_s = redis, refresh_s
        self.raw, self.enriched, self.pages = (
            raw_stream(prefix),
            enriched_stream(prefix),
            fetch_stream(prefix),
        )
        self.readers = {
            stream: Protected.of(prefix, stream, settings.protected)
            for stream in (self.raw, self.enriched, self.pages)
        }
        self.raw_limit, self.cap = settings.raw_lag_limit, settings.stream_maxlen
        self._states: dict[str, StreamState | None] = {}
        self._read_at, self._since = -math.inf, 0
        self._pages_state: StreamState | None = None
        self._pages_read_at, self._pages_since = -math.inf, 0

    async def check(self, articles: int) -> None:
        """Raise Unavailable when ``articles`` more would overload the pipeline; else count them in."""
        if time.monotonic() - self._read_at >= self.refresh_s:
            self._states = {s: await stream_state(self.redis, s) for s in (self.raw, self.enriched)}
            self._read_at, self._since = time.monotonic(), 0
        group, behind = self._behind(self.enriched)
        if behind >= self.cap * 9 // 10:
            raise self._refuse(group, behind, "stored" if group == STORE_GROUP else "read")
        group, behind = self._behind(self.raw)
        if behind + self._since + articles > self.raw_limit:
            raise self._refuse(group, behind + self._since, "enriched")
        raw = self._states.get(self.raw)
        if raw is not None and raw.length + self._since + articles > self.cap:
            metrics.THROTTLED.labels(reason="raw_at_cap").inc()
            raise Unavailable(f"{self.raw} is at its cap of {self.cap} entries; retry later")
        self._since += articles

    async def check_pages(self, pages: int) -> None:
        """Raise Unavailable when ``pages`` more pages to fetch would put the queue past its cap; else
        count them in."""
        if time.monotonic() - self._pages_read_at >= self.refresh_s:
            self._pages_state = await stream_state(self.redis, self.pages)
            self._pages_read_at, self._pages_since = time.monotonic(), 0
        state = self._pages_state
        group, behind = (None, 0) if state is None else state.behind(self.readers[self.pages])
        if behind + self._pages_since + pages > self.cap:
            metrics.THROTTLED.labels(reason=f"behind_{group}").inc()
            who = "page fetching" if group == FETCH_GROUP else f"consumer group {group!r}"
            raise Unavailable(
                f"{who} is {behind + self._pages_since} pages behind (not yet fetched); retry later"
            )
        self._pages_since += pages

    def _behind(self, stream: str) -> tuple[str | None, int]:
        state = self._states.get(stream)
        return (None, 0) if state is None else state.behind(self.readers[stream])

    def _refuse(self, group: str | None, behind: int, done: str) -> Unavailable:
        metrics.THROTTLED.labels(reason=f"behind_{group}").inc()
        who = {ENRICH_GROUP: "enrichment", STORE_GROUP: "the store"}.get(
            group or "", f"consumer group {group!r}"
        )
        return Unavailable(f"{who} is {behind} articles behind (not yet {done}); retry later")
