"""What a caller hands the fetcher about a URL it fetched before, and what a fetch gives back."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class Validator:
    """What an earlier answer said about its version (ETag, Last-Modified), sent back as
    If-None-Match and If-Modified-Since so that an unchanged resource costs a 304 and no body."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        """The conditional request headers of this validator."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    @classmethod
    def of(cls, headers: httpx.Headers, previous: Validator | None = None) -> Validator:
        """The validator of an answer; a 304 that repeats neither keeps the previous one's."""
        before = previous or cls()
        return cls(
            etag=headers.get("ETag") or before.etag,
            last_modified=headers.get("Last-Modified") or before.last_modified,
        )


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A 2xx answer with its body, or a 304 without one.

    ``permanent_url`` is set when the fetch began with permanent redirects (301, 308): it is where the
    last of them led, the URL to store in place of the one asked for. A temporary redirect (302, 303,
    307) before it means the old URL stays the right one to ask.
    """

    url: str
    status: int
    content: bytes
    content_type: str
    charset: str | None
    validator: Validator
    redirects: tuple[str, ...] = ()
    permanent_url: str | None = None

    @property
    def not_modified(self) -> bool:
        """The resource did not change since the validator sent (304): ``content`` is empty."""
        return self.status == 304

    @property
    def moved_permanently(self) -> bool:
        """The URL asked for has moved for good to ``permanent_url``."""
        return self.permanent_url is not None
