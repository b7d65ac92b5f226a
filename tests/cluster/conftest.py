"""A real Redis Cluster on loopback ports: 3 masters and 3 replicas, each a redis-server with AOF on."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis import Redis
from redis.cluster import RedisCluster

from services.tools.local import free_cluster_port, start_cluster
from tests.harness import wait_for


@dataclass
class Cluster:
    """The nodes of a test cluster by port; ``url`` names one node, as REDIS_URL would."""

    workdir: Path
    ports: list[int] = field(default_factory=lambda: [free_cluster_port() for _ in range(6)])
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.live_port())

    def live_port(self) -> int:
        return next(p for p, proc in self.procs.items() if proc.poll() is None)

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot now."""
        with self.client() as client:
            return int(client.get_node_from_key(key).port)

    def replica_of(self, master: int) -> int:
        """The port of a replica following ``master``."""
        with Redis(port=master) as node:
            replicas = node.info("replication")
        return int(replicas["slave0"]["port"])

    def kill(self, port: int) -> None:
        os.killpg(self.procs[port].pid, signal.SIGKILL)
        self.procs[port].wait(10)

    def wait_master(self, port: int, timeout: float = 30) -> None:
        """Wait until the node on ``port`` is a master and the cluster serves every slot again."""

        def promoted() -> bool:
            with Redis(port=port) as node:
                info = node.execute_command("CLUSTER INFO")
                return bool(node.info("replication")["role"] == "master" and info["cluster_state"] == "ok")

        wait_for(promoted, timeout=timeout, what=f"node {port} promoted to master")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Start a 3-master, 3-replica Redis Cluster on free loopback ports; stop every node afterwards."""
    made = Cluster(tmp_path / "cluster")
    procs = start_cluster(made.ports, made.workdir)
    made.procs = dict(zip(made.ports, procs, strict=True))
    try:
        yield made
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
