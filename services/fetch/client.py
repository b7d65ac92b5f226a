"""The HTTP client every fetch goes through: httpx on the vetting network backend, nothing implicit.

httpx's AsyncHTTPTransport takes no network backend, so the transport keeps httpx's request and error
mapping and swaps in a connection pool built on ours. The client reads no proxy or netrc from the
environment (a proxy would resolve names itself, past the vetting), keeps no cookies between fetches
(one user's fetch must not carry what another's site set), follows no redirect on its own (the fetcher
follows them, vetting and counting each hop) and asks only for the codings services/fetch/decoding.py
decodes within its bounds.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import certifi
import httpcore
import httpx

from services.fetch.decoding import ACCEPT_ENCODING


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to connect (resolution included), and to wait for each read or write."""

    connect: float
    read: float

    @classmethod
    def within(cls, total: float) -> Timeouts:
        """Timeouts that fit in a fetch of ``total`` seconds."""
        return cls(connect=min(10.0, total), read=min(20.0, total))


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose connections come from ``network``."""

    def __init__(self, network: httpcore.AsyncNetworkBackend, *, verify: ssl.SSLContext) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=5.0)
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network,
        )


def make_client(
    network: httpcore.AsyncNetworkBackend,
    *,
    user_agent: str,
    timeouts: Timeouts,
    verify: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient whose every connection is made by ``network``."""
    context = verify or ssl.create_default_context(cafile=certifi.where())
    client = httpx.AsyncClient(
        transport=PinnedTransport(network, verify=context),
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(
            connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
        ),
        headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
    )
    # A policy that allows no domain: the jar never stores a cookie (httpx copies a jar handed to
    # it, policy lost, so the policy is set on its own).
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return client
