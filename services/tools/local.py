"""Processes on this machine that development and tests both start: a Redis server on a free port."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from redis import Redis
from redis.exceptions import RedisError


def free_port() -> int:
    """Ask the OS for a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_cluster_port() -> int:
    """A free loopback port for a cluster node: at most 55535, with the port 10000 above it (the node's
    cluster bus) free as well."""
    for _ in range(200):
        port = random.randrange(20000, 55536)
        if all(_bindable(p) for p in (port, port + 10000)):
            return port
    raise SystemExit("found no free port pair for a Redis Cluster node")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_answers(url: str) -> bool:
    """Say whether a Redis server answers PING at ``url``."""
    try:
        with Redis.from_url(url, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except (RedisError, OSError):
        return False


def start_redis(
    url: str, workdir: Path, *, aof: str = "everysec", extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Start redis-server on the URL's port with its files under ``workdir``; ``aof`` "no" keeps nothing;
    ``extra`` are further options (``--replicaof``, ``--cluster-enabled``)."""
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
            *extra,
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


def start_cluster(ports: Sequence[int], workdir: Path, *, replicas: int = 1) -> list[subprocess.Popen[bytes]]:
    """Start a Redis Cluster on loopback: one redis-server per port (AOF on, files under
    ``workdir/<port>``), joined by ``redis-cli --cluster create`` with ``replicas`` replicas per master
    (so 6 ports make 3 masters and 3 replicas). Return the processes once every node reports
    ``cluster_state:ok`` and every replica is in sync; raise SystemExit when the cluster cannot be formed."""
    options = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
    ]
    procs = [start_redis(f"redis://127.0.0.1:{p}/0", workdir / str(p), extra=options) for p in ports]
    nodes = [f"127.0.0.1:{p}" for p in ports]
    made = subprocess.run(
        ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", str(replicas), "--cluster-yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if made.returncode:
        raise SystemExit(f"redis-cli --cluster create failed: {made.stdout[-500:]}{made.stderr[-500:]}")
    deadline = time.monotonic() + 30
    while not all(_cluster_ok(p) for p in ports):
        if time.monotonic() > deadline:
            raise SystemExit(f"the cluster on ports {list(ports)} did not reach cluster_state:ok in 30 s")
        time.sleep(0.2)
    return procs


def _cluster_ok(port: int) -> bool:
    # Serving every slot, and a replica in sync with its master: until then a WAIT would count it out.
    with Redis(port=port, socket_connect_timeout=1) as client:
        replication = client.info("replication")
        return bool(
            client.execute_command("CLUSTER INFO").get("cluster_state") == "ok"
            and (replication["role"] == "master" or replication.get("master_link_status") == "up")
        )
