"""Fixtures for chaos tests: a Redis server of our own to restart, the pipeline as real processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from services.tools.local import free_port, start_redis
from tests.harness import ROOT, Pipeline

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
