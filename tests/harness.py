"""The one test harness: wait for a condition, run the services as processes, clean up a prefix.

- ``wait_for`` polls a check with a deadline (``eventually`` is the same for an async check, on the
  test's own event loop); no test sleeps to synchronise.
- ``Pipeline`` starts store, enrich and ingest (and the feeds process, ``ingest.feeds``) as
  ``python -m services.<name>``, as docker-compose does, on a prefix and a database of their own;
  ``running`` wraps it for a fixture.
- ``in_process`` runs an app's lifespan and talks to it over ASGI, for a service's HTTP tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from redis import Redis

from services.tools.local import free_port

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
SERVICES = ("store", "enrich", "ingest")  # the order a deployment starts them in


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


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, seconds: float = 15, interval: float = 0.05, what: str
) -> T:
    """Poll an async ``check`` until truthy, or fail after ``seconds``.

    The async twin of ``wait_for``: a consumer running on the test's event loop keeps working while
    this waits, where a blocking sleep would stop the very work being waited for.
    """
    deadline = time.monotonic() + seconds
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(interval)
    return value


class Service:
    """One service started with ``python -m services.<name>``, as docker-compose starts it."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, log_name: str | None = None) -> None:
        self.name = name
        self.port: int | None = None  # where it serves HTTP, when started by a Pipeline
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


@dataclass
class Pipeline:
    """The three services as processes on their own prefix and database, tuned to recover fast."""

    redis_url: str
    workdir: Path
    database_url: str = ""
    prefix: str = field(default_factory=lambda: f"wstest-{uuid.uuid4().hex[:10]}")
    settings: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    ingest_port: int = field(default_factory=free_port)
    store_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.database_url = self.database_url or f"sqlite:///{self.workdir / 'store.db'}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "REDIS_URL": self.redis_url,
            "STREAM_PREFIX": self.prefix,
            "DATABASE_URL": self.database_url,
            "INGEST_PORT": str(self.ingest_port),
            "STORE_PORT": str(self.store_port),
            "CLAIM_IDLE_MS": "1500",
            "POLL_MS": "200",
            "BATCH_SIZE": "32",
            "MAX_DELIVERIES": "3",
            **self.settings,
        }

    @property
    def ingest(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def store(self) -> str:
        return f"http://127.0.0.1:{self.store_port}"

    def start(self, name: str, **extra: str) -> Service:
        """Start a service and wait until it answers /healthz (enrich workers and feeds processes get a
        port of their own)."""
        port = {"ingest": self.ingest_port, "store": self.store_port}.get(name) or free_port()
        own = {"enrich": "ENRICH_PORT", "ingest.feeds": "FEEDS_PORT"}
        env = {**self.env, **({own[name]: str(port)} if name in own else {}), **extra}
        service = Service(name, env, self.workdir, log_name=f"{name}-{len(self.services)}")
        service.port = port
        self.services.append(service)
        service.wait_healthy(f"http://127.0.0.1:{port}")
        return service

    def start_all(self) -> None:
        """Start store, one enrich worker and ingest, in the order a deployment does."""
        for name in SERVICES:
            self.start(name)

    def stop_all(self) -> dict[str, int]:
        """Stop every service this pipeline started, newest first; return each exit code by log name."""
        return {s.log_path.stem: s.stop() for s in reversed(self.services)}

    def article(self, article_id: str) -> dict[str, Any] | None:
        """The stored article, as GET /v1/articles/{id} answers, or None while it is not there."""
        answer = httpx.get(f"{self.store}/v1/articles/{article_id}", timeout=5)
        return answer.json() if answer.status_code == 200 else None

    def wait_article(self, article_id: str, timeout: float = 60) -> dict[str, Any]:
        """Poll the store API until the article is there."""
        return wait_for(
            lambda: self.article(article_id), timeout=timeout, what=f"article {article_id} stored"
        )

    def stored_ids(self) -> set[str]:
        """Ids in the store's SQLite file, read directly (a cheap check for thousands of articles)."""
        path = self.database_url.removeprefix("sqlite:///")
        if not Path(path).exists():
            return set()
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
            try:
                return {row[0] for row in conn.execute("SELECT id FROM articles")}
            except sqlite3.OperationalError:
                return set()

    def wait_stored(self, ids: list[str], *, timeout: float) -> float:
        """Wait until every id is in the store; fail early if a service died unasked; return the seconds."""
        began = time.monotonic()

        def done() -> bool:
            for service in self.services:
                if not service.expected_dead:
                    assert service.proc.poll() is None, f"{service.name} died:\n{service.log()[-3000:]}"
            return set(ids) <= self.stored_ids()

        try:
            wait_for(done, timeout=timeout, interval=0.5, what=f"all {len(set(ids))} articles in the store")
        except AssertionError as exc:
            missing = len(set(ids) - self.stored_ids())
            tails = "\n".join(f"--- {s.log_path.name}\n{s.log()[-1500:]}" for s in self.services)
            raise AssertionError(f"{exc}: {missing} missing\n{tails}") from exc
        return time.monotonic() - began

    def post(self, items: list[dict[str, Any]], *, timeout: float = 60) -> list[str]:
        """Post articles in batches, retrying while ingest answers 503; return their ids."""
        ids: list[str] = []
        for start in range(0, len(items), 200):
            chunk = "\n".join(json.dumps(i) for i in items[start : start + 200])

            def attempt(body: str = chunk) -> httpx.Response | None:
                try:
                    answer = httpx.post(
                        f"{self.ingest}/v1/articles/batch",
                        content=body,
                        headers={"Content-Type": "application/x-ndjson"},
                        timeout=30,
                    )
                except httpx.HTTPError:
                    return None
                return answer if answer.status_code == 200 else None

            answer = wait_for(attempt, timeout=timeout, interval=0.5, what="ingest to accept a batch")
            for result in answer.json()["items"]:
                assert result["status"] in ("accepted", "duplicate"), result
                ids.append(result["id"])
        return ids

    def listed_ids(self, source: str) -> list[str]:
        """Every id the store API lists for ``source``, page by page."""
        ids: list[str] = []
        cursor: str | None = None
        while True:
            params = {"source": source, "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = httpx.get(f"{self.store}/v1/articles", params=params, timeout=30).json()
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids


@contextmanager
def running(pipeline: Pipeline, *names: str) -> Iterator[Pipeline]:
    """Start the named services (all three by default); stop them, check they exited 0, drop the prefix."""
    try:
        for name in names or SERVICES:
            pipeline.start(name)
        yield pipeline
    finally:
        codes = pipeline.stop_all()
        drop_prefix(pipeline.redis_url, pipeline.prefix)
    unclean = {name: code for name, code in codes.items() if code != 0}
    assert not unclean, f"unclean shutdown: {unclean}"


@asynccontextmanager
async def in_process(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan and talk to it in-process, as the unit of a service's HTTP tests."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield client
