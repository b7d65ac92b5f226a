"""What durability costs a 202: publish latency under each appendfsync setting of Redis' append-only file.

Three private redis-server processes (free ports, temporary directories on the local disk, removed
afterwards) run with ``appendonly yes`` and ``appendfsync`` set to

- no: Redis writes the file and leaves flushing to the kernel (the baseline);
- everysec: fsync once a second in a background thread (Redis' default with AOF);
- always: fsync before answering the writes of every event-loop turn;
- everysec+WAIT: everysec with one replica (a fourth redis-server, ``--replicaof`` the third), and
  ingest's 202 waiting for it (INGEST_WAIT_REPLICAS=1: WAIT 1 on the publishing connection).

Each round publishes, to each server in turn, one article and then a batch of 100 through ingest's
Publisher (encoding, the Lua script, the pipeline), and times the call. Figures are p50 and p95 in
milliseconds and ratios to ``no`` of the same run. WAITAOF (INGEST_WAIT_AOF) needs Redis 7.2: on an older
redis-server only the three settings are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from services.contracts import RawArticle
from services.ingest.publisher import Durability, Publisher
from services.tools.local import free_port, start_redis


@dataclass(frozen=True)
class Setting:
    """One way of running Redis and publishing: ``fsync`` of the master, whether a replica follows it,
    and what the publisher waits for."""

    fsync: str
    replica: bool = False
    durability: Durability = field(default_factory=Durability)


SETTINGS = {
    "no": Setting("no"),
    "everysec": Setting("everysec"),
    "always": Setting("always"),
    "everysec+WAIT": Setting("everysec", replica=True, durability=Durability(replicas=1, replicas_ms=1000)),
}
MODES = tuple(SETTINGS)
BODY = (
    "The harbour reopened on Monday after the storm passed, and the first ferries left on time. "
    "Officials said repairs to the breakwater would take weeks. "
) * 12  # about 1.8 kB, a short news article


@contextmanager
def redis_server(setting: Setting, workdir: Path) -> Iterator[str]:
    """Run redis-server with an append-only file flushed per the setting, and its replica if it has one
    (once in sync); yield the master's URL."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    procs = [start_redis(url, workdir / "master", aof=setting.fsync)]
    try:
        if setting.replica:
            replica_url = f"redis://127.0.0.1:{free_port()}/0"
            following = ["--replicaof", "127.0.0.1", str(port)]
            procs.append(start_redis(replica_url, workdir / "replica", aof=setting.fsync, extra=following))
            with SyncRedis.from_url(replica_url) as replica:
                while replica.info("replication").get("master_link_status") != "up":
                    time.sleep(0.05)
        yield url
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def articles(count: int) -> list[RawArticle]:
    """Distinct raw articles of about 2 kB, as ingest publishes them."""
    return [
        RawArticle(
            id=uuid.uuid4().hex[:16],
            title=f"Harbour reopens after storm, report {n}",
            body=BODY,
            source="wire",
            received_at=time.time(),
        )
        for n in range(count)
    ]


async def timed(publisher: Publisher, batch: list[RawArticle]) -> float:
    """Publish ``batch``; return milliseconds."""
    start = time.perf_counter()
    outcomes = await publisher.publish(batch)
    elapsed = (time.perf_counter() - start) * 1000
    assert outcomes == ["accepted"] * len(batch)
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def measure(urls: dict[str, str], rounds: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    clients = {mode: Redis.from_url(url) for mode, url in urls.items()}
    publishers = {
        mode: Publisher(client, "wsbench", durability=SETTINGS[mode].durability)
        for mode, client in clients.items()
    }
    times: dict[str, dict[str, list[float]]] = {mode: {"one": [], "batch": []} for mode in MODES}
    try:
        for n in range(warmup + rounds):
            for mode in MODES:  # in turn, so noise falls on every setting alike
                one = await timed(publishers[mode], articles(1))
                batch = await timed(publishers[mode], articles(100))
                if n >= warmup:
                    times[mode]["one"].append(one)
                    times[mode]["batch"].append(batch)
    finally:
        for client in clients.values():
            await client.aclose()
    return times


def main() -> None:
    """Time publishing under the three appendfsync settings and print p50/p95 and ratios to ``no``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=300, help="timed rounds per setting")
    ap.add_argument("--warmup", type=int, default=20, help="rounds discarded first")
    ap.add_argument("--dir", default=None, help="where the servers keep their files (default: a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ws-durability-", dir=args.dir) as tmp, ExitStack() as servers:
        urls = {}
        for mode, setting in SETTINGS.items():
            urls[mode] = servers.enter_context(redis_server(setting, Path(tmp) / mode))
        times = asyncio.run(measure(urls, args.rounds, args.warmup))
    report(times, args.rounds)


def report(times: dict[str, dict[str, list[float]]], rounds: int) -> None:
    base = times["no"]
    print(f"{rounds} rounds; one article, then a batch of 100, per round and setting (ms)")
    print(
        f"{'setting':<14} {'one p50':>8} {'one p95':>8} {'batch p50':>10} {'batch p95':>10}"
        f"   ratios to no: one p50 / p95, batch p50 / p95"
    )
    for mode in MODES:
        one, batch = times[mode]["one"], times[mode]["batch"]
        figures = [statistics.median(one), p95(one), statistics.median(batch), p95(batch)]
        bases = [
            statistics.median(base["one"]),
            p95(base["one"]),
            statistics.median(base["batch"]),
            p95(base["batch"]),
        ]
        ratios = " / ".join(f"{f / b:.2f}" for f, b in zip(figures, bases, strict=True))
        print(
            f"{mode:<14} {figures[0]:8.2f} {figures[1]:8.2f} {figures[2]:10.2f} {figures[3]:10.2f}   {ratios}"
        )


if __name__ == "__main__":
    main()
