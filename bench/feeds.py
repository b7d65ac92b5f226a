"""Scale of feed polling: how many feeds one feeds process polls per second, and what a poll costs.

A server in a subprocess of its own (asyncio, every answer built in advance) serves ``--feeds`` distinct
RSS 2.0 feeds of ``--items`` new items each (every item's text over 400 characters, so no page is
fetched), spread over ``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...: distinct hosts to the
fetcher, no resolver needed), and a permissive robots.txt on each. In the same run, in turn:

- baseline: bare ``httpx`` GETs of the same URLs from this process, ``--concurrency`` at once, bodies
  read and nothing else;
- 1 replica: ``python -m services.ingest.feeds`` as a process of its own, ``FEEDS_CONCURRENCY`` =
  ``--concurrency``; the feeds are registered through the registry (interval an hour, so each is
  polled once), then released at once (their due time set to now in one ZADD) and the clock starts;
- 2 replicas: the same with two processes sharing the feeds through the schedule's leases.

Each phase has a stream prefix of its own (so one de-duplication window never hides another phase's
items), and its keys are deleted when it ends. The poller runs with FETCH_ALLOW_PRIVATE=true,
FETCH_HOST_DELAY_S=0 and FETCH_HOST_CONCURRENCY=64 (the most allowed): politeness would otherwise space
the polls of a host a second apart, and this measures the poller, not its manners.

Figures: polls per second (feeds over the time until the last poll completed: every lease given back
and every item on ``<prefix>:raw``), the time until all items were on ``<prefix>:raw``, CPU seconds per
poll of the poller processes (user + system, threads included, from /proc/<pid>/stat) and of Redis when
the bench started its own, and ratios to the baseline. Then the target: 10,000 feeds every 15 minutes
is 11.1 polls/s; headroom is polls/s / 11.1, and cores needed is CPU per poll x 11.1.

Only ``<prefix>:raw`` is measured: enrichment (about 14 articles/s per worker, bench/enrich.py) is far
slower than polling and would measure itself.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast
from xml.sax.saxutils import escape

import httpx
from redis.asyncio import Redis

from services.contracts import feeds_due_key, feeds_leases_key, raw_stream
from services.ingest.feeds.registry import FeedIn, FeedRegistry
from services.tools.local import free_port, redis_answers, start_redis

TARGET_FEEDS = 10_000
TARGET_INTERVAL_S = 900.0
TARGET_POLLS_S = TARGET_FEEDS / TARGET_INTERVAL_S  # 11.1
HOST_CONCURRENCY = 64  # FETCH_HOST_CONCURRENCY's maximum
ROBOTS = b"User-agent: *\nAllow: /\n"
PARAGRAPH = (
    "The council met on Tuesday to weigh the harbour plan, which would widen the quay and add two berths "
    "for the ferries that now queue offshore in bad weather. Residents asked how long the works would "
    "close the coast road, and the engineers said six weeks at most, in the winter, when traffic is light. "
    "A vote is due next month, after a survey of the breakwater and a hearing for the fishing fleet."
)  # about 400 characters: with a title and a number, every item is over SHORT_TEXT


# -- what is served ----------------------------------------------------------------------------------


def host_of(feed: int, hosts: int) -> str:
    """The loopback address serving feed ``feed`` (0-based) when feeds are spread over ``hosts``:
    127.0.0.1 up to 127.0.0.250, then 127.0.1.1 and so on."""
    n = feed % hosts
    return f"127.0.{n // 250}.{n % 250 + 1}"


def feed_path(feed: int) -> str:
    return f"/feeds/{feed}.xml"


def feed_url(feed: int, hosts: int, port: int) -> str:
    return f"http://{host_of(feed, hosts)}:{port}{feed_path(feed)}"


def rss(feed: int, items: int, now: datetime) -> bytes:
    """An RSS 2.0 feed of ``items`` distinct items, each with a text over 400 characters."""
    entries = []
    for n in range(items):
        published = format_datetime(now - timedelta(minutes=n), usegmt=True)
        text = f"Report {n} of desk {feed}. {PARAGRAPH}"
        entries.append(
            "<item>"
            f"<title>Harbour plan, report {n} of desk {feed}</title>"
            f"<link>https://desk{feed}.example.com/news/{n}/harbour-plan</link>"
            f"<guid>desk{feed}-{n}</guid>"
            f"<pubDate>{published}</pubDate>"
            f"<description>{escape(text)}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Desk {feed}</title><link>https://desk{feed}.example.com/</link>"
        f"<description>News of desk {feed}</description><language>en</language>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def answer(body: bytes, content_type: str, etag: str | None = None) -> bytes:
    """A whole HTTP/1.1 200 answer, headers and body."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    head += f'ETag: "{etag}"\r\n' if etag else ""
    return head.encode() + b"\r\n" + body


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class _Http(asyncio.Protocol):
    """Keep-alive HTTP/1.1 GETs answered from a table of ready answers."""

    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.answers, self.buffer = answers, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            parts = head.split(b" ", 2)
            path = parts[1] if len(parts) > 1 else b""
            assert self.transport is not None
            self.transport.write(self.answers.get(path, NOT_FOUND))


def serve(feeds: int, items: int, hosts: int, port: int, ready: Connection) -> None:
    """Serve every feed and robots.txt on each of the ``hosts`` addresses until SIGTERM (a subprocess)."""
    now = datetime.now(UTC)
    answers = {b"/robots.txt": answer(ROBOTS, "text/plain")}
    for feed in range(feeds):
        body = rss(feed, items, now)
        answers[feed_path(feed).encode()] = answer(body, "application/rss+xml; charset=utf-8", f"f{feed}")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        addresses = sorted({host_of(n, hosts) for n in range(min(feeds, hosts))})
        server = await loop.create_server(lambda: _Http(answers), host=addresses, port=port, backlog=1024)
        ready.send(sum(len(a) for a in answers.values()))
        async with server:
            await stop.wait()

    asyncio.run(main())


@contextmanager
def feed_server(feeds: int, items: int, hosts: int) -> Iterator[int]:
    """Run ``serve`` in a subprocess; yield its port."""
    port = free_port()
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    proc = context.Process(target=serve, args=(feeds, items, hosts, port, send), daemon=True)
    proc.start()
    try:
        if not receive.poll(120):
            raise SystemExit("the feed server did not start")
        size = receive.recv()
        print(f"serving {feeds:,} feeds of {items} items ({size / 1e6:.1f} MB) on {hosts} hosts, port {port}")
        yield port
    finally:
        proc.terminate()
        proc.join(10)


# -- measuring ----------------------------------------------------------------------------------------


def cpu_seconds(stat: str) -> float:
    """User + system CPU seconds of a process (all its threads) from the text of /proc/<pid>/stat."""
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime: fields 14 and 15 of stat(5)


def process_cpu(pid: int) -> float:
    return cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def counter(metrics_text: str, name: str, label: str) -> float:
    """The value of one Prometheus counter sample (``name{label}``) in /metrics text; 0 when absent."""
    for line in metrics_text.splitlines():
        if line.startswith(f"{name}{{") and label in line.split("}", 1)[0]:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@dataclass(frozen=True)
class Phase:
    """What one way of polling the feeds did."""

    name: str
    polls: int  # polls (or GETs) completed
    seconds: float  # until the last one completed
    cpu_s: float  # of the polling processes
    raw_s: float | None = None  # until every item was on <prefix>:raw
    redis_cpu_s: float | None = None
    failed: int = 0

    @property
    def rate(self) -> float:
        return self.polls / self.seconds

    @property
    def cpu_per_poll(self) -> float:
        return self.cpu_s / self.polls


def headroom(rate: float) -> float:
    """How many times the target's polls per second a rate is."""
    return rate / TARGET_POLLS_S


def cores_needed(cpu_per_poll: float) -> float:
    """Cores kept busy polling at the target's rate."""
    return cpu_per_poll * TARGET_POLLS_S


async def baseline(urls: Sequence[str], concurrency: int) -> Phase:
    """Bare GETs of every URL, ``concurrency`` at once, bodies read."""
    queue = list(reversed(urls))
    failed = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failed
        while queue:
            response = await client.get(queue.pop())
            await response.aread()
            failed += response.status_code != 200

    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:
        await client.get(urls[0])  # the first connection and the client's lazy imports, untimed
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return Phase("baseline: bare httpx GETs", len(urls), seconds, cpu_s, failed=failed)


@dataclass(frozen=True)
class Poller:
    proc: subprocess.Popen[bytes]
    port: int


def start_poller(redis_url: str, prefix: str, concurrency: int, maxlen: int, log: Path) -> Poller:
    """``python -m services.ingest.feeds`` with health and metrics on a free port."""
    port = free_port()
    env = os.environ | {
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": prefix,
        "STREAM_MAXLEN": str(maxlen),
        "FEEDS_PORT": str(port),
        "FEEDS_CONCURRENCY": str(concurrency),
        "FETCH_ALLOW_PRIVATE": "true",
        "FETCH_HOST_DELAY_S": "0",
        "FETCH_HOST_CONCURRENCY": str(HOST_CONCURRENCY),
        "PROTECTED_GROUPS": "",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.ingest.feeds"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
    return Poller(proc, port)


async def wait_ready(pollers: Sequence[Poller]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(trust_env=False) as client:
        for poller in pollers:
            while True:
                if poller.proc.poll() is not None:
                    raise SystemExit(f"the feeds process exited with {poller.proc.returncode}")
                try:
                    if (await client.get(f"http://127.0.0.1:{poller.port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the feeds process did not become ready in 60 s")
                await asyncio.sleep(0.1)


async def polls_counted(pollers: Sequence[Poller]) -> tuple[int, int]:
    """Polls the pollers counted: (ok, any other outcome)."""
    ok = other = 0
    async with httpx.AsyncClient(trust_env=False) as client:
        for poller in pollers:
            text = (await client.get(f"http://127.0.0.1:{poller.port}/metrics")).text
            name = "wirestream_feed_polls_total"
            ok += int(counter(text, name, 'outcome="ok"'))
            other += sum(
                int(counter(text, name, f'outcome="{o}"'))
                for o in ("not_modified", "failed", "disabled", "deferred")
            )
    return ok, other


async def delete_keys(redis: Redis, prefix: str) -> None:
    async for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        await redis.delete(key)


async def poll_phase(
    redis_url: str,
    redis_pid: int | None,
    urls: Sequence[str],
    items: int,
    replicas: int,
    concurrency: int,
    log: Path,
    timeout_s: float,
) -> Phase:
    """Register the feeds, start ``replicas`` pollers, release the feeds and time them to the end."""
    prefix = f"feedsbench-{uuid.uuid4().hex[:8]}"
    expected = len(urls) * items
    maxlen = max(100_000, 4 * expected)
    redis = Redis.from_url(redis_url)
    pollers: list[Poller] = []
    try:
        registry = FeedRegistry(redis, prefix)
        later = datetime.now(UTC) + timedelta(days=1)  # registered not yet due: released below at once
        added = [
            await registry.add(FeedIn(url=u, interval_s=3600, source="Bench desk"), now=later) for u in urls
        ]
        pollers = [start_poller(redis_url, prefix, concurrency, maxlen, log) for _ in range(replicas)]
        await wait_ready(pollers)
        await asyncio.sleep(1.0)  # the pollers' first idle ticks
        raw, leases = raw_stream(prefix), feeds_leases_key(prefix)
        cpu = [process_cpu(p.proc.pid) for p in pollers]
        redis_cpu = process_cpu(redis_pid) if redis_pid else 0.0
        start = time.perf_counter()
        await redis.zadd(feeds_due_key(prefix), {feed.id: time.time() for feed in added})
        raw_s: float | None = None
        while True:
            await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - start
            length = await redis.xlen(raw)
            if raw_s is None and length >= expected:
                raw_s = elapsed
            due_now = await redis.zcount(feeds_due_key(prefix), "-inf", time.time())
            if raw_s is not None and not await redis.hlen(leases) and not due_now:
                break
            if elapsed > timeout_s:
                print(f"  gave up after {timeout_s:g} s: {length:,} of {expected:,} items on {raw}")
                break
        seconds = time.perf_counter() - start
        cpu_s = sum(process_cpu(p.proc.pid) for p in pollers) - sum(cpu)
        redis_cpu_s = process_cpu(redis_pid) - redis_cpu if redis_pid else None
        ok, other = await polls_counted(pollers)
        name = f"{replicas} poller replica{'s' if replicas > 1 else ''}"
        return Phase(name, ok, seconds, cpu_s, raw_s, redis_cpu_s, failed=other)
    finally:
        for poller in pollers:
            poller.proc.send_signal(signal.SIGTERM)
        for poller in pollers:
            try:
                poller.proc.wait(15)
            except subprocess.TimeoutExpired:
                poller.proc.kill()
                poller.proc.wait()
        await delete_keys(redis, prefix)
        await redis.aclose()


# -- running and reporting -----------------------------------------------------------------------------


@contextmanager
def redis_at(url: str | None, workdir: Path) -> Iterator[tuple[str, int | None]]:
    """The Redis given, else a private redis-server without persistence; yield its URL and the pid of
    the server this bench started (None for one it did not)."""
    if url:
        if not redis_answers(url):
            raise SystemExit(f"no Redis answers at {url}")
        yield url, None
        return
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = start_redis(url, workdir / "redis", aof="no")
    try:
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def report(phases: Sequence[Phase], items: int) -> None:
    base = phases[0]
    print(
        f"\n{'':<28} {'polls':>6} {'s':>7} {'polls/s':>8} {'ratio':>6} {'CPU ms/poll':>12} {'ratio':>6}"
        f" {'raw s':>7} {'Redis ms/poll':>14} {'other':>6}"
    )
    for p in phases:
        raw = f"{p.raw_s:7.2f}" if p.raw_s is not None else f"{'-':>7}"
        redis = f"{p.redis_cpu_s / p.polls * 1000:14.2f}" if p.redis_cpu_s is not None else f"{'-':>14}"
        print(
            f"{p.name:<28} {p.polls:6d} {p.seconds:7.2f} {p.rate:8.1f} {p.rate / base.rate:6.2f}"
            f" {p.cpu_per_poll * 1000:12.2f} {p.cpu_per_poll / base.cpu_per_poll:6.1f} {raw} {redis}"
            f" {p.failed:6d}"
        )
    print(
        f"\ntarget: {TARGET_FEEDS:,} feeds every {TARGET_INTERVAL_S / 60:g} min = "
        f"{TARGET_POLLS_S:.1f} polls/s (each poll here: {items} new items published)"
    )
    for p in phases[1:]:
        print(
            f"{p.name:<28} headroom {headroom(p.rate):5.1f}x ({p.rate:.1f} / {TARGET_POLLS_S:.1f} polls/s); "
            f"cores needed {cores_needed(p.cpu_per_poll):.2f} ({p.cpu_per_poll * 1000:.1f} ms x "
            f"{TARGET_POLLS_S:.1f}/s)"
        )


def main() -> None:
    """Poll the feeds bare, with one poller replica and with two; print rates, CPU and ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000, help="feeds served and polled")
    ap.add_argument("--items", type=int, default=20, help="new items per feed")
    ap.add_argument("--hosts", type=int, default=50, help="loopback addresses the feeds are spread over")
    ap.add_argument("--concurrency", type=int, default=16, help="FEEDS_CONCURRENCY, and the baseline's")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 2], help="poller replicas per phase")
    ap.add_argument("--redis-url", default=None, help="a Redis to use (default: a private redis-server)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a phase may take")
    args = ap.parse_args()
    if not 1 <= args.hosts <= 250 * 250 or args.feeds < 1 or args.items < 1:
        ap.error("--feeds and --items must be positive, --hosts 1 to 62,500")
    with tempfile.TemporaryDirectory(prefix="ws-feeds-") as tmp, ExitStack() as stack:
        port = stack.enter_context(feed_server(args.feeds, args.items, args.hosts))
        redis_url, redis_pid = stack.enter_context(redis_at(args.redis_url, Path(tmp)))
        urls = [feed_url(n, args.hosts, port) for n in range(args.feeds)]
        log = Path(tmp) / "feeds.log"
        print(f"{os.cpu_count()} cores; FEEDS_CONCURRENCY={args.concurrency}; baseline, then {args.replicas}")
        phases = [asyncio.run(baseline(urls, args.concurrency))]
        for replicas in args.replicas:
            phases.append(
                asyncio.run(
                    poll_phase(
                        redis_url, redis_pid, urls, args.items, replicas, args.concurrency, log, args.timeout
                    )
                )
            )
        errors = [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]
        if errors:
            print(f"{len(errors)} errors logged by the pollers, the first: {errors[0][:300]}")
        report(phases, args.items)


if __name__ == "__main__":
    main()
