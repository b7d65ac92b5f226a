"""What durability costs a 202: publish latency under each appendfsync setting of Redis' append-only file.

Three private redis-server processes (free ports, temporary directories on the local disk, removed
afterwards) run with ``appendonly yes`` and ``appendfsync`` set to

- no: Redis writes the file and leaves flushing to the kernel (the baseline);
- everysec: fsync once a second in a background thread (Redis' default with AOF);
- always: fsync before answering the writes of every event-loop turn.

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
from pathlib import Path

from redis.asyncio import Redis

from services.contracts import RawArticle
from services.ingest.publisher import Publisher
from services.tools.local import free_port, start_redis

MODES = ("no", "everysec", "always")
BODY = (
    "The harbour reopened on Monday after the storm passed, and the first ferries left on time. "
    "Officials said repairs to the breakwater would take weeks. "
) * 12  # about 1.8 kB, a short news article


@contextmanager
def redis_server(fsync: str, workdir: Path) -> Iterator[str]:
    """Run redis-server with an append-only file flushed per ``fsync``; yield its URL."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = start_redis(url, workdir, aof=fsync)
    try:
        yield url
    finally:
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
    publishers = {mode: Publisher(client, "wsbench") for mode, client in clients.items()}
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
        for mode in MODES:
            (Path(tmp) / mode).mkdir()
            urls[mode] = servers.enter_context(redis_server(mode, Path(tmp) / mode))
        times = asyncio.run(measure(urls, args.rounds, args.warmup))
    report(times, args.rounds)


def report(times: dict[str, dict[str, list[float]]], rounds: int) -> None:
    base = times["no"]
    print(f"{rounds} rounds; one article, then a batch of 100, per round and setting (ms)")
    print(
        f"{'appendfsync':<12} {'one p50':>8} {'one p95':>8} {'batch p50':>10} {'batch p95':>10}"
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
            f"{mode:<12} {figures[0]:8.2f} {figures[1]:8.2f} {figures[2]:10.2f} {figures[3]:10.2f}   {ratios}"
        )


if __name__ == "__main__":
    main()
