"""Processes on this machine that development and tests both start: a Redis server on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

from redis import Redis
from redis.exceptions import RedisError


def free_port() -> int:
    """Ask the OS for a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str) -> bool:
    """Say whether a Redis server answers PING at ``url``."""
    try:
        with Redis.from_url(url, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except (RedisError, OSError):
        return False


def start_redis(url: str, workdir: Path, *, aof: str = "everysec") -> subprocess.Popen[bytes]:
    """Start redis-server on the URL's port with its files under ``workdir``; ``aof`` "no" keeps nothing."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("No Redis answers at REDIS_URL and no redis-server is installed: install Redis 7.")
    port = urlparse(url).port or 6379
    workdir.mkdir(parents=True, exist_ok=True)
    persistence = ["--appendonly", "no"] if aof == "no" else ["--appendonly", "yes", "--appendfsync", aof]
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            *persistence,
            "--logfile",
            str(workdir / "redis.log"),
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while not redis_answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"redis-server did not start on port {port}; see {workdir / 'redis.log'}")
        time.sleep(0.1)
    return proc
