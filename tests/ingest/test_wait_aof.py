"""INGEST_WAIT_AOF: a 503 when Redis did not fsync in time; without a Redis that can confirm fsyncs,
ingest refuses to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from redis import Redis

from services.errors import ConfigurationError, Unavailable
from services.ingest.publisher import confirm_aof
from services.ingest.settings import IngestSettings
from services.ingest.startup import check_wait_aof
from services.tools.local import free_port, start_redis
from tests.harness import ROOT


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


def _start_ingest(redis_url: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "", "REDIS_URL": redis_url, "INGEST_WAIT_AOF": "true", "INGEST_PORT": str(free_port())}
    return subprocess.run(
        [sys.executable, "-m", "services.ingest"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _server(redis_url: str) -> tuple[tuple[int, ...], bool]:
    with Redis.from_url(redis_url) as client:
        version = str(client.info("server")["redis_version"])
        aof = bool(client.info("persistence")["aof_enabled"])
    return tuple(int(part) for part in version.split(".")[:2]), aof


def test_ingest_refuses_to_start_on_a_redis_that_cannot_confirm_fsyncs(redis_url: str) -> None:
    version, aof = _server(redis_url)
    if version >= (7, 2) and aof:
        pytest.skip("this Redis runs WAITAOF with an append-only file: ingest would start")

    done = _start_ingest(redis_url)

    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("wirestream ingest refuses to start: INGEST_WAIT_AOF is on but Redis")
    assert ("has no WAITAOF (Redis 7.2 or later has it)" in line) == (version < (7, 2))
    assert ("keeps no append-only file (appendonly no)" in line) == (not aof)


def test_an_append_only_file_alone_is_not_enough_before_redis_7_2(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = start_redis(url, tmp_path, aof="everysec")
    try:
        if _server(url)[0] >= (7, 2):
            pytest.skip("this redis-server runs WAITAOF")
        done = _start_ingest(url)
    finally:
        proc.terminate()
        proc.wait(10)

    assert done.returncode == 1, done.stderr
    assert "has no WAITAOF" in done.stderr
    assert "appendonly no" not in done.stderr


def test_an_unreachable_redis_is_refused_only_when_fsyncs_are_awaited() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    check_wait_aof(IngestSettings(redis_url=url))  # off: nothing to check, Redis may come later
    with pytest.raises(ConfigurationError, match="Redis did not answer to be checked"):
        check_wait_aof(IngestSettings(redis_url=url, ingest_wait_aof=True))
