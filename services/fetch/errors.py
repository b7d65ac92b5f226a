"""Errors of fetching: one tree, each naming what went wrong with the URL it went wrong on.

    WirestreamError                 (services/errors.py)
    └── FetchError                  ``url``, and ``reason``: a short label for a dead letter or a metric
        ├── RefusedURL              not http or https, or no host
        ├── RefusedAddress          the host resolves to an address the policy forbids: ``address``, ``why``
        ├── RobotsDisallowed        the site's robots.txt disallows the URL for our user agent
        ├── TooManyRedirects        more than five redirects, or a redirect back to a URL of the chain
        ├── TooLarge                the body, as sent or once decompressed, is over the limit
        ├── BadContentType          a media type the caller does not accept: ``content_type``
        ├── BadEncoding             a content coding not asked for, or a corrupt compressed body
        ├── UnsafeXML               a DOCTYPE that declares entities (billion laughs, external entities)
        ├── HTTPStatusError         a 4xx answer but 429 (410 Gone: stop asking): ``status``
        └── (also TransientError)   retrying later may work
            ├── FetchTimeout        connect or read timed out, or the fetch's total time ran out
            ├── NetworkError        DNS failure, connection refused or reset, a broken HTTP answer
            └── RetryLater          429 or 5xx: ``status``, ``retry_after`` in seconds when the server said

A transient one is also a services.errors.TransientError, so a stage that lets it escape leaves its
entry pending; what to do with the others (dead-letter with ``reason``, mark a feed failing) is the
caller's choice.
"""

from __future__ import annotations

from typing import ClassVar

from services.errors import TransientError, WirestreamError


class FetchError(WirestreamError):
    """A fetch that did not give a body; ``str()`` is ``"<reason>: <what happened> (<url>)"``."""

    reason: ClassVar[str] = "fetch"

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(detail)
        self.url = url  # the fetcher puts the URL it was fetching here when a lower layer raised
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail} ({self.url})"


class RefusedURL(FetchError):
    """A URL this fetcher never requests: a scheme other than http and https, or no host."""

    reason = "refused_url"


class RefusedAddress(FetchError):
    """The host resolved to an address the policy forbids; raised before any connection is made."""

    reason = "refused_address"

    def __init__(self, url: str, address: str, why: str) -> None:
        super().__init__(url, f"{address} is {why}")
        self.address = address
        self.why = why


class RobotsDisallowed(FetchError):
    """The site's robots.txt disallows this URL for our user agent (or could not be read: 5xx)."""

    reason = "robots_disallowed"


class TooManyRedirects(FetchError):
    """More redirects than allowed, or a redirect to a URL already in the chain."""

    reason = "too_many_redirects"


class TooLarge(FetchError):
    """A body over the size limit, as announced, as sent or once decompressed."""

    reason = "too_large"


class BadContentType(FetchError):
    """A response whose media type the caller does not accept."""

    reason = "bad_content_type"

    def __init__(self, url: str, content_type: str, accepted: str) -> None:
        super().__init__(url, f"content type {content_type!r} is not one of {accepted}")
        self.content_type = content_type


class BadEncoding(FetchError):
    """A content coding we did not offer, or a compressed body that does not decompress."""

    reason = "bad_encoding"


class UnsafeXML(FetchError):
    """XML whose DOCTYPE declares entities: refused before any parser expands them."""

    reason = "unsafe_xml"


class HTTPStatusError(FetchError):
    """An answer that retrying will not change: 4xx but 429, a 3xx without a usable Location."""

    reason = "http_status"

    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, f"HTTP {status}")
        self.status = status


class FetchTimeout(FetchError, TransientError):
    """Connecting or reading timed out, or the whole fetch took longer than its bound."""

    reason = "timeout"


class NetworkError(FetchError, TransientError):
    """The name did not resolve, the connection was refused or reset, or the answer was not HTTP."""

    reason = "network"


class RetryLater(FetchError, TransientError):
    """The server is busy or failing (429, 5xx); ``retry_after`` is its ``Retry-After`` in seconds."""

    reason = "retry_later"

    def __init__(self, url: str, status: int, retry_after: float | None) -> None:
        after = "" if retry_after is None else f", retry after {retry_after:g} s"
        super().__init__(url, f"HTTP {status}{after}")
        self.status = status
        self.retry_after = retry_after
