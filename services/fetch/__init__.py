"""Fetching over HTTP for feed polling and page fetching: safe for any URL a user names, polite to sites.

    async with Fetcher(load(FetchSettings, "poller")) as fetcher:
        result = await fetcher.fetch(url, validator=stored, accept=FEED_TYPES)
        if not result.not_modified:
            parse(refuse_unsafe_xml(result.content, url=result.url))

The parts, each in its module:

    fetcher.py     one fetch: robots.txt, the host's turn, redirects, status, media type, body
    network.py     resolve once, vet every address, connect to that address (no DNS rebinding)
    addresses.py   which addresses are public, internal (FETCH_ALLOW_PRIVATE) or never allowed
    client.py      the httpx client on that network backend: no proxies, cookies or own redirects
    decoding.py    the body within its limit, as sent and decompressed (gzip, deflate, br)
    robots.py      robots.txt per origin, cached with a TTL (RFC 9309)
    hosts.py       per-host concurrency and minimum delay between requests
    retry.py       Retry-After and exponential backoff with jitter (pure)
    xmlguard.py    refusal of XML that declares entities, before a parser expands them
    results.py     Validator (ETag, Last-Modified) and FetchResult
    errors.py      the FetchError tree, each with a ``reason`` for dead letters and metrics
"""

from services.fetch.addresses import AddressPolicy, PublicAddresses
from services.fetch.errors import (
    BadContentType,
    BadEncoding,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    RefusedAddress,
    RefusedURL,
    RetryLater,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
    UnsafeXML,
)
from services.fetch.fetcher import MAX_REDIRECTS, Fetcher
from services.fetch.results import FetchResult, Validator
from services.fetch.retry import backoff, parse_retry_after
from services.fetch.settings import FetchSettings
from services.fetch.xmlguard import refuse_unsafe_xml

__all__ = [
    "MAX_REDIRECTS",
    "AddressPolicy",
    "BadContentType",
    "BadEncoding",
    "FetchError",
    "FetchResult",
    "FetchSettings",
    "FetchTimeout",
    "Fetcher",
    "HTTPStatusError",
    "NetworkError",
    "PublicAddresses",
    "RefusedAddress",
    "RefusedURL",
    "RetryLater",
    "RobotsDisallowed",
    "TooLarge",
    "TooManyRedirects",
    "UnsafeXML",
    "Validator",
    "backoff",
    "parse_retry_after",
    "refuse_unsafe_xml",
]
