"""Fetch settings, read once from the environment by the service that fetches (feeds, pages)."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.settings import CommonSettings


class FetchSettings(CommonSettings):
    """How the fetcher treats the sites it reads and the addresses it may reach.

    FETCH_ALLOW_PRIVATE: allow loopback, private (RFC 1918, fc00::/7), link-local and carrier-grade NAT
        addresses; for a deployment that fetches from its own network, and for tests. Cloud metadata,
        multicast, unspecified and reserved addresses stay refused.
    FETCH_USER_AGENT: the User-Agent sent, and the name robots.txt rules are matched against.
    FETCH_TIMEOUT_S: the most one fetch takes, redirects, robots.txt and waiting for its host's turn
        included; connecting waits at most 10 s and each read at most 20 s of it.
    FETCH_MAX_BYTES: the largest body kept, as sent and once decompressed.
    FETCH_HOST_CONCURRENCY: requests open at once to one host.
    FETCH_HOST_DELAY_S: the least time between the starts of two requests to one host (a longer
        robots.txt Crawl-delay, up to 60 s, wins).
    """

    fetch_allow_private: bool = Field(
        default=False, description="allow loopback, private, link-local and carrier-grade NAT addresses"
    )
    fetch_user_agent: str = Field(
        default="Wirestream/0.1 (news fetcher)",
        min_length=1,
        max_length=200,
        description="the User-Agent sent; robots.txt rules are matched against it",
    )
    fetch_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="the most one fetch takes, waits for its host included"
    )
    fetch_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="largest body kept, as sent and decompressed"
    )
    fetch_host_concurrency: int = Field(default=2, ge=1, le=64, description="requests at once per host")
    fetch_host_delay_s: float = Field(
        default=1.0, ge=0, le=3600, description="least time between the starts of two requests to a host"
    )

    @field_validator("fetch_user_agent")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.isprintable() or not value.isascii():
            raise ValueError("must be printable ASCII on one line: it is sent as a header")
        return value
