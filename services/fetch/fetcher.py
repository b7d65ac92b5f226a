"""Fetch one URL, politely and safely: the steps every feed poll and page fetch takes.

For the URL asked for and then each redirect (at most five, no URL twice): the scheme must be http
or https; the origin's robots.txt must allow the URL; the host's turn is awaited (services/fetch/hosts.py);
the request goes out with the caller's validator through the vetting client, which checks the resolved
address of every connection (services/fetch/network.py). The answer:

- 304: not modified, nothing read;
- 301, 302, 303, 307, 308 with a Location: the next hop; a run of 301/308 from the start is reported;
- 2xx: the media type checked against the caller's, the body read within the limit (decoding.py);
- 429, 5xx: RetryLater with the Retry-After asked for; any other: HTTPStatusError.

The whole of it, robots.txt and waits for a host's turn included, ends within FETCH_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType

import httpcore
import httpx

from services.errors import TransientError
from services.fetch.addresses import AddressPolicy, PublicAddresses
from services.fetch.client import Timeouts, make_client
from services.fetch.decoding import read_body
from services.fetch.errors import (
    BadContentType,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    RefusedURL,
    RetryLater,
    RobotsDisallowed,
    TooManyRedirects,
)
from services.fetch.hosts import HostGate
from services.fetch.network import Resolver, VettingBackend, system_resolver
from services.fetch.results import FetchResult, Validator
from services.fetch.retry import parse_retry_after
from services.fetch.robots import ROBOTS_MAX_BYTES, RobotsCache
from services.fetch.settings import FetchSettings

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_CRAWL_DELAY_CAP = 60.0  # a robots.txt asking for an hour between requests would starve its feed


@dataclass(frozen=True, slots=True)
class _Ask:
    headers: dict[str, str]
    accept: Collection[str] | None
    limit: int
    validator: Validator | None = None
    robots: bool = True  # False for robots.txt itself
    truncate: bool = False


class Fetcher:
    """Fetches URLs for one process; open it once (``async with``) and share it."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        policy: AddressPolicy | None = None,
        resolver: Resolver = system_resolver,
        network: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | None = None,
        timeouts: Timeouts | None = None,
        robots_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._agent = settings.fetch_user_agent
        backend = VettingBackend(
            policy or PublicAddresses(allow_private=settings.fetch_allow_private),
            resolver=resolver,
            inner=network,
        )
        self._client = make_client(
            backend,
            user_agent=self._agent,
            timeouts=timeouts or Timeouts.within(settings.fetch_timeout_s),
            verify=verify,
        )
        self._gate = HostGate(settings.fetch_host_concurrency, settings.fetch_host_delay_s)
        self._robots = RobotsCache(self._read_robots, ttl=robots_ttl, clock=clock)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection."""
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        validator: Validator | None = None,
        accept: Collection[str] | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url``: a 2xx answer with its body, or a 304 when ``validator`` still holds; ``accept``
        lists the media types taken (``application/rss+xml``, ``text/*``), any when None; the body may
        be ``max_bytes`` long (FETCH_MAX_BYTES when None). Raises a FetchError naming the problem."""
        headers = {"Accept": ", ".join(accept) if accept else "*/*"}
        headers |= validator.headers() if validator else {}
        ask = _Ask(headers, accept, max_bytes or self._settings.fetch_max_bytes, validator)
        total = self._settings.fetch_timeout_s
        try:
            async with asyncio.timeout(total):
                return await self._follow(url, ask)
        except TimeoutError:
            raise FetchTimeout(url, f"the fetch took more than {total:g} s") from None

    async def _read_robots(self, url: str) -> bytes:
        ask = _Ask({"Accept": "text/plain, */*"}, None, ROBOTS_MAX_BYTES, robots=False, truncate=True)
        return (await self._follow(url, ask)).content

    async def _follow(self, url: str, ask: _Ask) -> FetchResult:
        current = _checked(url, url)
        chain = [str(current)]
        permanent: str | None = None  # where the run of 301/308 from the start has led
        for hop in range(MAX_REDIRECTS + 1):
            answer = await self._hop(current, ask)
            if isinstance(answer, FetchResult):
                return replace(answer, redirects=tuple(chain[1:]), permanent_url=permanent)
            status, current = answer
            if str(current) in chain:
                raise TooManyRedirects(url, f"redirect loop: {current} again")
            if status in _PERMANENT and (hop == 0 or permanent == chain[-1]):
                permanent = str(current)
            chain.append(str(current))
        raise TooManyRedirects(url, f"more than {MAX_REDIRECTS} redirects")

    async def _hop(self, url: httpx.URL, ask: _Ask) -> FetchResult | tuple[int, httpx.URL]:
        delay = await self._allowed(url) if ask.robots else 0.0
        async with self._gate.turn(url.host, delay=delay):
            with _errors(str(url)):
                request = self._client.build_request("GET", url, headers=ask.headers)
                response = await self._client.send(request, stream=True)
                try:
                    return await self._answer(response, ask)
                finally:
                    await response.aclose()

    async def _allowed(self, url: httpx.URL) -> float:
        """Raise unless robots.txt allows ``url``; return the Crawl-delay it asks for, if any."""
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        try:
            rules = await self._robots.rules(origin)
        except FetchError as exc:  # robots.txt refused or unreachable: the page is not fetched either
            exc.url = str(url)
            if isinstance(exc, TransientError):
                exc.detail = f"robots.txt: {exc.detail}"
            raise
        if not rules.can_fetch(str(url), self._agent):
            raise RobotsDisallowed(str(url), f"robots.txt disallows it for {self._agent!r}")
        return min(rules.crawl_delay(self._agent) or 0.0, _CRAWL_DELAY_CAP)

    async def _answer(self, response: httpx.Response, ask: _Ask) -> FetchResult | tuple[int, httpx.URL]:
        url, status = str(response.request.url), response.status_code
        media, charset = _media_type(response.headers.get("Content-Type"))
        if status == 304:
            return FetchResult(
                url, status, b"", media, charset, Validator.of(response.headers, ask.validator)
            )
        if status in _REDIRECTS and (location := response.headers.get("Location")):
            try:
                target = response.request.url.join(location)
            except httpx.InvalidURL as exc:
                raise RefusedURL(url, f"redirect to {location[:200]!r}, not a URL: {exc}") from None
            return status, _checked(target, url, shown=f"redirect to {location[:200]!r}")
        if status == 429 or status >= 500:
            after = parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))
            raise RetryLater(url, status, after)
        if not 200 <= status < 300:
            raise HTTPStatusError(url, status)
        if ask.accept is not None and not _accepts(media, ask.accept):
            raise BadContentType(url, media, ", ".join(ask.accept))
        content = await read_body(response, ask.limit, truncate=ask.truncate)
        return FetchResult(url, status, content, media, charset, Validator.of(response.headers))


def _checked(url: str | httpx.URL, asked: str, *, shown: str = "") -> httpx.URL:
    """``url`` parsed, if it is one this fetcher requests: http or https, with a host."""
    shown = shown or repr(str(url)[:200])
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise RefusedURL(asked, f"{shown} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise RefusedURL(asked, f"{shown} is not an http or https URL with a host")
    return parsed


def _media_type(header: str | None) -> tuple[str, str | None]:
    """The media type (lower case; application/octet-stream when absent) and charset of a Content-Type."""
    media, _, params = (header or "application/octet-stream").partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media.strip().lower() or "application/octet-stream", charset


def _accepts(media: str, accept: Collection[str]) -> bool:
    for pattern in (p.partition(";")[0].strip().lower() for p in accept):
        if pattern in (media, "*/*") or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False


@contextmanager
def _errors(url: str) -> Iterator[None]:
    """httpx's errors as the fetch tree's; ours from the network layer given the URL."""
    try:
        yield
    except FetchError as exc:
        exc.url = exc.url or url
        raise
    except httpx.TimeoutException as exc:
        raise FetchTimeout(url, f"{type(exc).__name__}: no answer in time") from None
    except (httpx.TransportError, httpx.InvalidURL) as exc:
        raise NetworkError(url, f"{type(exc).__name__}: {exc}") from None
