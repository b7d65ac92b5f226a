"""Protect the pipeline from its clients: per-client rate limits and backpressure on the raw stream."""

from __future__ import annotations

import math
import time

from redis.asyncio import Redis

from services.contracts import ENRICH_GROUP, raw_stream
from services.runtime.groups import stream_state

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
        self.script = redis.register_script(_TAKE_TOKEN)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    async def retry_after(self, client: str) -> int:
        """Take a token for ``client``; return 0 when allowed, else the seconds until the next token."""
        if not self.enabled:
            return 0
        allowed, tokens = await self.script(
            keys=[f"{self.prefix}:ratelimit:{client}"], args=[self.rate, self.burst, time.time()]
        )
        if int(allowed):
            return 0
        return max(1, math.ceil((1 - float(tokens)) / self.rate))


class Backpressure:
    """Refuse new articles while enrichment lags too far behind; the lag is read at most once a second."""

    def __init__(self, redis: Redis, prefix: str, max_lag: int, refresh_s: float = 1.0) -> None:
        self.redis, self.stream, self.max_lag, self.refresh_s = redis, raw_stream(prefix), max_lag, refresh_s
        self._lag, self._read_at = 0, -math.inf

    async def lag(self) -> int:
        """Entries of the raw stream the enrich group has not read yet (cached briefly)."""
        if time.monotonic() - self._read_at >= self.refresh_s:
            self._lag = await self._read_lag()
            self._read_at = time.monotonic()
        return self._lag

    async def _read_lag(self) -> int:
        state = await stream_state(self.redis, self.stream)
        if state is None:  # no stream yet
            return 0
        group = state.group(ENRICH_GROUP)
        return group.lag if group is not None else state.length  # no consumer yet: everything waits

    async def overloaded(self) -> bool:
        """Say whether ingest should answer 503 instead of growing the stream."""
        return self.max_lag > 0 and await self.lag() >= self.max_lag
