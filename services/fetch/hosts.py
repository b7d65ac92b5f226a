"""Politeness per host: a few requests at once, and a minimum delay between one and the next."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0  # clock time before which no request to this host may start
    users: int = field(default=0)  # requests holding or waiting for a slot


class HostGate:
    """At most ``concurrency`` requests to one host at a time, each starting at least ``delay`` seconds
    after the previous one to that host started, and after the last one to end ended."""

    def __init__(
        self,
        concurrency: int,
        delay: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_hosts: int = 10_000,
    ) -> None:
        self._concurrency = concurrency
        self._delay = delay
        self._clock = clock
        self._max_hosts = max_hosts
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def turn(self, host: str, *, delay: float | None = None) -> AsyncIterator[None]:
        """Wait for this host's turn, then hold one of its slots for the block; ``delay`` overrides the
        gate's when longer (a robots.txt Crawl-delay)."""
        state = self._hosts.get(host) or self._add(host)
        wait = max(self._delay, delay or 0.0)
        state.users += 1
        try:
            async with state.slots:
                now = self._clock()
                start = max(now, state.next_start)
                # Reserve the start before sleeping, so that waiters behind this one space out too.
                state.next_start = start + wait
                if start > now:
                    await asyncio.sleep(start - now)
                try:
                    yield
                finally:  # the next request also waits the delay after this one ended
                    state.next_start = max(state.next_start, self._clock() + wait)
        finally:
            state.users -= 1

    def _add(self, host: str) -> _Host:
        if len(self._hosts) >= self._max_hosts:
            # Forget hosts nobody is using whose delay has passed: they would start afresh anyway.
            now = self._clock()
            for name in [n for n, s in self._hosts.items() if not s.users and s.next_start <= now]:
                del self._hosts[name]
        state = self._hosts[host] = _Host(asyncio.Semaphore(self._concurrency))
        return state
