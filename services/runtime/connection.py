"""Open REDIS_URL as what the server is, a single Redis or a Redis Cluster, and name keys to fit it.

On a Redis Cluster every key of one stream prefix must hash to one slot: Lua scripts touch a stream and
the de-duplication buckets together, and a replayed dead letter moves between two streams. So there the
prefix is wrapped in a hash tag (``news`` → ``{news}``: streams ``{news}:raw``, ``{news}:enriched``,
``{news}:dead``), and only the part in braces is hashed. On a single Redis names stay ``news:raw``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from services.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)
T = TypeVar("T")


async def is_cluster_server(url: str) -> bool:
    """Ask the server at ``url`` whether it runs in cluster mode (``INFO cluster``: ``cluster_enabled:1``).

    Raises redis' ConnectionError (or TimeoutError) when no server answers.
    """
    probe = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        return bool((await probe.info("cluster")).get("cluster_enabled"))
    finally:
        await probe.aclose()


async def open_redis(url: str) -> Redis:
    """Open ``url``: a RedisCluster client that discovers every node when the server is a cluster node,
    else a plain client. Raises what ``is_cluster_server`` raises."""
    if not await is_cluster_server(url):
        return Redis.from_url(url)
    cluster = RedisCluster.from_url(url)
    await cluster.initialize()  # learn the slot map now, so keys can be located before the first command
    # The cluster client offers the commands the services use, under another class.
    return cast(Redis, cluster)


def is_cluster(client: Redis) -> bool:
    """Say whether ``client`` talks to a Redis Cluster."""
    return isinstance(client, RedisCluster)


def keyspace(prefix: str, cluster: bool) -> str:
    """The prefix key names begin with: ``{prefix}`` on a cluster (one hash slot), else ``prefix``."""
    return f"{{{prefix}}}" if cluster else prefix


def on_keyspace(settings: S, client: Redis) -> S:
    """The settings with ``stream_prefix`` as keys are named on ``client``'s deployment."""
    return settings.model_copy(update={"stream_prefix": keyspace(settings.stream_prefix, is_cluster(client))})


def same_node(client: Redis, key: str) -> dict[str, Any]:
    """Options that send a keyless command (WAIT, WAITAOF) to the node holding ``key``, so that on a
    cluster it waits for the writes made to that key on the same connection; none on a single Redis."""
    if isinstance(client, RedisCluster):
        return {"target_nodes": client.get_node_from_key(key)}
    return {}


class Once(Generic[T]):
    """What an async ``make`` returns, made on first use and kept; a failed attempt is retried on the
    next use. A service that must answer while Redis is down connects this way."""

    def __init__(self, make: Callable[[], Awaitable[T]]) -> None:
        self._make = make
        self._lock = asyncio.Lock()
        self.value: T | None = None

    async def get(self) -> T:
        """The value; raises what ``make`` raised when it could not be made this time."""
        if self.value is None:
            async with self._lock:
                if self.value is None:
                    self.value = await self._make()
        return self.value
