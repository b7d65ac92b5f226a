"""Shared fixtures: a real Redis, a unique stream prefix per test, a throwaway SQLite file."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from services.devstack import free_port, redis_answers


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: REDIS_URL when set, else a container, else a redis-server started here."""
    if url := os.environ.get("REDIS_URL"):
        assert redis_answers(url), f"REDIS_URL={url} does not answer"
        yield url
        return
    if _docker_reachable():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
        return
    binary = shutil.which("redis-server")
    assert binary, "no REDIS_URL, no Docker engine and no redis-server binary: the tests need a real Redis"
    with tempfile.TemporaryDirectory(prefix="ws-redis-") as workdir:
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                workdir,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not redis_answers(url):
            assert proc.poll() is None, "redis-server exited during start-up"
            assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
            time.sleep(0.05)
        yield url
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix of this test alone; its keys are deleted afterwards."""
    name = f"wstest-{uuid.uuid4().hex[:10]}"
    yield name
    with SyncRedis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        if keys:
            client.delete(*keys)


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
