"""INGEST_WAIT_AOF: a 503 when Redis did not fsync in time; without a Redis that can confirm fsyncs,
ingest refuses to start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from redis import Redis

from services.errors import ConfigurationError, Unavailable
from services.ingest.publisher import confirm_aof
from services.ingest.settings import IngestSettings
from services.ingest.startup import check_wait_aof
from services.tools.local import free_port, start_redis
from tests.harness import ROOT, wait_for


def test_an_fsync_confirmed_locally_passes() -> None:
    confirm_aof([1, 0], 1000)


@pytest.mark.parametrize("reply", [[0, 0], [], RuntimeError("appendonly is off")])
def test_an_unconfirmed_fsync_is_a_503_naming_the_reason(reply: object) -> None:
    with pytest.raises(Unavailable) as info:
        confirm_aof(reply, 1000)
    assert "INGEST_WAIT_AOF" in info.value.detail and "append-only file" in info.value.detail
    assert info.value.headers["Retry-After"] == "1"


def test_the_timeout_must_be_positive() -> None:
    assert IngestSettings().ingest_wait_aof_timeout_ms == 1000
    assert IngestSettings().ingest_wait_aof is False
    with pytest.raises(ValidationError):
        IngestSettings(ingest_wait_aof_timeout_ms=0)


@contextmanager
def _redis(tmp_path: Path, aof: str) -> Iterator[tuple[str, tuple[int, ...]]]:
    """A redis-server of this test, with ``appendfsync`` ``aof`` ("no": no append-only file); yields
    its URL and its (major, minor) version."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = start_redis(url, tmp_path, aof=aof)
    try:
        with Redis.from_url(url) as client:
            version = str(client.info("server")["redis_version"])
        yield url, tuple(int(part) for part in version.split(".")[:2])
    finally:
        proc.terminate()
        proc.wait(10)


def _start_ingest(redis_url: str) -> tuple[int | None, str]:
    """Start ingest with INGEST_WAIT_AOF on; return its exit status (None: it started and answered
    /readyz, then was stopped) and what it wrote to stderr."""
    port = free_port()
    env = {"PATH": "", "REDIS_URL": redis_url, "INGEST_WAIT_AOF": "true", "INGEST_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.ingest"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )

    def settled() -> bool:
        if proc.poll() is not None:
            return True
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(settled, timeout=60, what="ingest to start or refuse")
        status = proc.poll()
    finally:
        if proc.poll() is None:
            proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    return status, stderr


def test_ingest_refuses_to_start_on_a_redis_without_an_append_only_file(tmp_path: Path) -> None:
    with _redis(tmp_path, aof="no") as (url, version):
        status, stderr = _start_ingest(url)

    assert status == 1, stderr
    [line] = stderr.strip().splitlines()
    assert line.startswith("wirestream ingest refuses to start: INGEST_WAIT_AOF is on but Redis")
    assert "keeps no append-only file (appendonly no)" in line
    assert ("has no WAITAOF (Redis 7.2 or later has it)" in line) == (version < (7, 2))


def test_an_append_only_file_is_enough_only_from_redis_7_2(tmp_path: Path) -> None:
    with _redis(tmp_path, aof="everysec") as (url, version):
        status, stderr = _start_ingest(url)

    if version < (7, 2):
        assert status == 1, stderr
        assert "has no WAITAOF" in stderr and "appendonly no" not in stderr
    else:
        assert status is None, stderr  # it started and answered ready


def test_an_unreachable_redis_is_refused_only_when_fsyncs_are_awaited() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    check_wait_aof(IngestSettings(redis_url=url))  # off: nothing to check, Redis may come later
    with pytest.raises(ConfigurationError, match="Redis did not answer to be checked"):
        check_wait_aof(IngestSettings(redis_url=url, ingest_wait_aof=True))
