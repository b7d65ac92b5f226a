"""robots.txt per origin, read through the safe fetch path and kept for a while (RFC 9309).

What a fetch of ``/robots.txt`` means (RFC 9309, 2.3.1): a body (at most 500 KiB read) is the rules;
4xx but 429, too many redirects or an undecodable body means there are none. 429, 5xx and no answer
(timeout, refused connection, failed TLS) mean the site is unreachable, so nothing may be fetched
from it: the error itself is raised, transient as it is, so the caller retries later (RFC 9309's
"complete disallow" for now) and knows why; nothing is cached, so the next fetch asks again. An address
the policy refuses is raised too: the page would be refused for the same reason.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from protego import Protego

from services.fetch.errors import BadEncoding, HTTPStatusError, TooManyRedirects

ROBOTS_MAX_BYTES = 500 * 1024

RobotsReader = Callable[[str], Awaitable[bytes]]
"""Fetches a robots.txt URL and returns its body; raises a FetchError as a fetch does."""


class RobotsCache:
    """The rules of each origin's robots.txt, fetched once per ``ttl`` and shared by concurrent fetches."""

    def __init__(
        self,
        read: RobotsReader,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        max_origins: int = 10_000,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._max_origins = max_origins
        self._rules: OrderedDict[str, tuple[float, Protego]] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, origin: str) -> Protego:
        """The rules of ``origin`` (``scheme://host[:port]``), from the cache while fresh."""
        if (rules := self._fresh(origin)) is not None:
            return rules
        async with self._locks.setdefault(origin, asyncio.Lock()):
            # One fetch of a robots.txt at a time; the others wait for its answer.
            if (rules := self._fresh(origin)) is not None:
                return rules
            rules = Protego.parse(await self._fetch(origin))
            self._store(origin, rules)
            return rules

    async def _fetch(self, origin: str) -> str:
        try:
            body = await self._read(f"{origin}/robots.txt")
        except (HTTPStatusError, TooManyRedirects, BadEncoding):
            return ""  # 4xx but 429 (that is RetryLater), too many redirects, undecodable: no rules
        return body.decode("utf-8", errors="replace")

    def _fresh(self, origin: str) -> Protego | None:
        entry = self._rules.get(origin)
        if entry is None or entry[0] <= self._clock():
            return None
        self._rules.move_to_end(origin)
        return entry[1]

    def _store(self, origin: str, rules: Protego) -> None:
        self._rules[origin] = (self._clock() + self._ttl, rules)
        self._rules.move_to_end(origin)
        while len(self._rules) > self._max_origins:
            self._rules.popitem(last=False)
        if len(self._locks) > self._max_origins:
            for name in [n for n, lock in self._locks.items() if not lock.locked()]:
                del self._locks[name]
