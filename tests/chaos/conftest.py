"""Fixtures for chaos tests: a Redis server of our own to restart, the pipeline as real processes."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from services.tools.local import free_port, start_redis
from tests.support import ROOT, Service, wait_for

REPORT = ROOT / "var" / "reports" / "chaos.jsonl"


class RedisServer:
    """A redis-server on a spare port that a test may stop and restart, with or without its data."""

    def __init__(self, workdir: Path, *, aof: bool) -> None:
        self.workdir, self.aof, self.port = workdir, aof, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_redis(self.url, self.workdir, aof="always" if self.aof else "no")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)

    def restart(self, *, keep_data: bool) -> float:
        """Stop, optionally wipe the data, start again; return the seconds Redis was away."""
        began = time.monotonic()
        self.stop()
        if not keep_data:
            for path in self.workdir.iterdir():
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        self.start()
        return time.monotonic() - began

    def client(self) -> Redis:
        return Redis.from_url(self.url)


@dataclass
class Pipeline:
    """The three services as processes, configured for fast recovery, and ways to observe them."""

    redis_url: str
    workdir: Path
    database_url: str = ""
    prefix: str = field(default_factory=lambda: f"chaos-{uuid.uuid4().hex[:8]}")
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
        }

    @property
    def ingest(self) -> str:
        return f"http://127.0.0.1:{self.ingest_port}"

    @property
    def store(self) -> str:
        return f"http://127.0.0.1:{self.store_port}"

    def start(self, name: str, **extra: str) -> Service:
        """Start a service and wait until it answers /healthz (enrich workers get a port of their own)."""
        port = {"ingest": self.ingest_port, "store": self.store_port}.get(name) or free_port()
        env = {**self.env, **({"ENRICH_PORT": str(port)} if name == "enrich" else {}), **extra}
        service = Service(name, env, self.workdir, log_name=f"{name}-{len(self.services)}")
        self.services.append(service)
        service.wait_healthy(f"http://127.0.0.1:{port}")
        return service

    def start_all(self) -> None:
        """Start store, one enrich worker and ingest, in the order a deployment does."""
        for name in ("store", "enrich", "ingest"):
            self.start(name)

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

    def stored_ids(self) -> set[str]:
        """Ids in the SQLite store, read directly from the file."""
        path = self.database_url.removeprefix("sqlite:///")
        if not Path(path).exists():
            return set()
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
            try:
                return {row[0] for row in conn.execute("SELECT id FROM articles")}
            except sqlite3.OperationalError:
                return set()

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

    def stop_all(self) -> dict[str, int]:
        return {s.log_path.stem: s.stop() for s in reversed(self.services)}


def articles(tag: str, count: int) -> list[dict[str, Any]]:
    """Distinct short news articles, all with ``source`` = ``tag``."""
    cities = ["Berlin", "Paris", "Madrid", "Warsaw", "Rome", "Vienna", "Lisbon", "Prague"]
    people = ["Olaf Scholz", "Emmanuel Macron", "Pedro Sanchez", "Donald Tusk", "Giorgia Meloni"]
    return [
        {
            "title": f"Trade talks {tag} number {i}",
            "source": tag,
            "body": f"Report {i} of {tag}. Ministers met in {cities[i % len(cities)]} on Monday to discuss "
            f"trade. {people[i % len(people)]} told the European Commission that talks would continue.",
        }
        for i in range(count)
    ]


def xlen(redis_url: str, stream: str) -> int:
    with Redis.from_url(redis_url) as client:
        return int(client.xlen(stream))


def pending(redis_url: str, stream: str, group: str) -> int:
    with Redis.from_url(redis_url) as client:
        try:
            return int(client.xpending(stream, group)["pending"])
        except Exception:
            return 0


@pytest.fixture
def report() -> Iterator[dict[str, Any]]:
    """Figures a chaos test measured; appended to var/reports/chaos.jsonl and printed."""
    figures: dict[str, Any] = {}
    yield figures
    if figures:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        with REPORT.open("a") as out:
            out.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures}) + "\n")
        print(json.dumps(figures))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis server of this test alone, with AOF on."""
    server = RedisServer(tmp_path / "redis", aof=True)
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pipeline(tmp_path: Path, own_redis: RedisServer) -> Iterator[Pipeline]:
    """A pipeline on the test's own Redis and SQLite file; its processes are stopped afterwards."""
    pipe = Pipeline(own_redis.url, tmp_path)
    yield pipe
    pipe.stop_all()
