"""Helpers for tests that run the services as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def wait_for(
    check: Callable[[], T | None], *, timeout: float, interval: float = 0.2, what: str = "condition"
) -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Service:
    """One service started with ``python -m services.<name>``, as docker-compose starts it."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, log_name: str | None = None) -> None:
        self.name = name
        self.expected_dead = False
        self.log_path = log_dir / f"{log_name or name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, base_url: str, timeout: float = 120) -> None:
        def healthy() -> bool:
            assert self.proc.poll() is None, (
                f"{self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
            )
            try:
                return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=timeout, what=f"{self.name} to answer /healthz")

    def signal(self, sig: int) -> None:
        self.expected_dead = True
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait, SIGKILL if needed; return the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait(10)


def drop_prefix(redis_url: str, prefix: str) -> None:
    """Delete every key a test's stream prefix left in Redis."""
    with Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


@asynccontextmanager
async def in_process(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and talk to it in-process, as the unit of a service's HTTP tests."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client


@dataclass
class Stack:
    """The three services running as processes on a prefix and a database of their own."""

    ingest: str
    store: str
    env: dict[str, str]
    services: list[Service]

    def stored(self, article_id: str) -> dict[str, Any] | None:
        """The stored article, or None while it is not there."""
        answer = httpx.get(f"{self.store}/v1/articles/{article_id}", timeout=5)
        return answer.json() if answer.status_code == 200 else None

    def wait_stored(self, article_id: str, timeout: float = 60) -> dict[str, Any]:
        """Poll the store until the article is there."""
        return wait_for(lambda: self.stored(article_id), timeout=timeout, what=f"article {article_id} stored")


@contextmanager
def running_stack(
    workdir: Path, redis_url: str, database_url: str, env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Start store, enrich and ingest on a fresh prefix; stop them and drop the prefix afterwards."""
    from services.tools.local import free_port

    prefix = f"wsstack-{uuid.uuid4().hex[:10]}"
    ports = {"INGEST_PORT": str(free_port()), "STORE_PORT": str(free_port())}
    full_env = {
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": prefix,
        "DATABASE_URL": database_url,
        "CLAIM_IDLE_MS": "2000",
        **ports,
        **(env or {}),
    }
    services = [Service(name, full_env, workdir) for name in ("store", "enrich", "ingest")]
    stack = Stack(
        f"http://127.0.0.1:{ports['INGEST_PORT']}",
        f"http://127.0.0.1:{ports['STORE_PORT']}",
        full_env,
        services,
    )
    try:
        services[0].wait_healthy(stack.store)
        services[2].wait_healthy(stack.ingest)
        yield stack
    finally:
        codes = {s.name: s.stop() for s in services}
        drop_prefix(redis_url, prefix)
    assert codes == {"store": 0, "enrich": 0, "ingest": 0}, f"unclean shutdown: {codes}"
