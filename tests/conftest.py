"""Shared fixtures: a real Redis, a unique stream prefix per test, a throwaway SQLite file."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.tools.local import free_port, redis_answers, start_redis
from tests.harness import drop_prefix

_TIERS = {"e2e": pytest.mark.e2e, "chaos": pytest.mark.chaos, "cluster": pytest.mark.cluster}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of tests/e2e, tests/chaos and tests/cluster with their tier and as slow."""
    for item in items:
        tier = Path(str(item.path)).relative_to(Path(__file__).parent).parts[0]
        if tier in _TIERS:
            item.add_marker(_TIERS[tier])
            item.add_marker(pytest.mark.slow)


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: REDIS_URL when set, else a container of TEST_REDIS_IMAGE (default ``redis:7``)
    when a container engine answers, else a redis-server started here."""
    if url := os.environ.get("REDIS_URL"):
        assert redis_answers(url), f"REDIS_URL={url} does not answer"
        yield url
        return
    if _docker_reachable():
        from testcontainers.redis import RedisContainer

        with RedisContainer(os.environ.get("TEST_REDIS_IMAGE", "redis:7")) as container:
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
        return
    with tempfile.TemporaryDirectory(prefix="ws-redis-") as workdir:
        url = f"redis://127.0.0.1:{free_port()}/0"
        proc = start_redis(url, Path(workdir), aof="no")
        yield url
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix of this test alone; its keys are deleted afterwards."""
    name = f"wstest-{uuid.uuid4().hex[:10]}"
    yield name
    drop_prefix(redis_url, name)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """An async Redis client for the test."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file of this test alone."""
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
