"""The whole pipeline on the BBC texts: throughput, batch ingest, latency and the Redis cost of an article.

One command prints, in the same run, each figure beside a baseline measured in that run:

1. raw spaCy NER only (``nlp.pipe``, tok2vec and ner, as ``bench/enrich.py``) on 1 and 2 processes,
   and ``Enricher.enrich`` alone in one process: what enrich costs without the pipeline around it;
2. end to end, posted -> stored, with real ingest, enrich and store processes (started as
   ``wirestream run`` starts them) on free ports, with a stream prefix of their own and a SQLite file in
   a temporary folder, against the Redis at ``REDIS_URL``: 1, then 2 enrich workers, as ratios to raw
   NER on as many processes. A backlog is posted at once; the steady figure leaves out one read
   (``BATCH_SIZE``) per worker at each end, the drain figure is the whole backlog. Each raw NER figure
   is taken right before its pipeline figure, while the (idle) stack waits, so noise falls on both;
3. batch ingest (``POST /v1/articles/batch``, NDJSON) against pipelined XADD of the entries it wrote,
   with the enrich workers stopped;
4. POST -> stored latency of single POSTs sent open loop, evenly paced, at half the steady end-to-end
   capacity of each worker count, beside raw NER of each article alone (the floor);
5. the Redis CPU the stream operations of one article cost, issued as the services issue them, on a
   private redis-server (appendfsync everysec, as docker-compose runs it): articles/s that one Redis core
   takes, against what enrich produces per core.

"Stored" is the first poll of the store's SQLite file (read-only, every 5 ms) that sees the article's
row: the moment any reader of the database could answer it. The live feed (``GET /v1/stream``) is not a
signal of storage: it reads ``<prefix>:enriched`` itself and shows an article once it is enriched, before
the store commits it.

Every Redis key of the run is under its prefix and deleted at the end; the BBC texts are read in place.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from bench import data_dir
from bench.topics_bbc import read_bbc
from services.contracts import (
    ENRICH_GROUP,
    STORE_GROUP,
    RawArticle,
    enriched_stream,
    failures_key,
    raw_stream,
)
from services.ingest.identity import article_id
from services.ingest.publisher import Publisher
from services.tools import devstack
from services.tools.local import free_port, redis_answers, start_redis

POLL_S = 0.005  # how often the latency run looks for its articles in the database
COUNT_POLL_S = 0.02  # how often the throughput runs count the stored articles
SERVICE_BATCH = 64  # BATCH_SIZE: entries per XREADGROUP of enrich and the store, and per enrich XADD
NLP_BATCH = 32  # NLP_BATCH_SIZE: texts per nlp.pipe batch in enrich
FEED_BATCH = 100  # entries per XREAD of the store's live-feed reader
PCTS = (50, 95, 99)
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
DISTURBED = 0.10  # a phase during which others took more of the machine than this is flagged
ALONE_MAX = 250  # articles timed alone for the latency baseline
Payload = dict[str, str]


# pure math


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of ``values``, linearly interpolated between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def send_times(start: float, rate: float, count: int) -> list[float]:
    """Open-loop schedule: ``count`` sends evenly ``1 / rate`` seconds apart from ``start``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    return [start + n / rate for n in range(count)]


def steady_rate(t1: float, count1: int, t2: float, count2: int) -> float:
    """Articles stored per second between two looks at the store's count."""
    return (count2 - count1) / (t2 - t1)


def shard_capacity(cpu_seconds: float, articles: int) -> float:
    """Articles per second one Redis core takes when each article costs ``cpu_seconds / articles``."""
    return articles / cpu_seconds if cpu_seconds > 0 else float("inf")


# the texts


def load_texts(count: int, seed: int) -> list[tuple[str, str]]:
    """(headline, body) of ``count`` BBC articles, categories shuffled together; repeated past 2,225."""
    items = [(head, body) for _, head, body in read_bbc(data_dir("bbc"), 0)]
    random.Random(seed).shuffle(items)
    return [items[n % len(items)] for n in range(count)]


def payloads(texts: Sequence[tuple[str, str]], run: str, phase: str) -> list[Payload]:
    """Articles to post: each text with a URL of its own, so no post is a duplicate of another."""
    return [
        {
            "title": title,
            "body": body,
            "url": f"https://news.example.com/wsbench/{run}/{phase}/{n}",
            "source": "BBC News",
        }
        for n, (title, body) in enumerate(texts)
    ]


def id_of(payload: Payload) -> str:
    """The id ingest gives the article (from its URL)."""
    return article_id(title=payload["title"], body=payload["body"], published_at=None, url=payload["url"])


def cycle(items: Sequence[Any], count: int) -> list[Any]:
    """``count`` items, starting over at the end of ``items``."""
    return [items[n % len(items)] for n in range(count)]


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# 1. raw NER


def _ner_child(bodies: list[str], barrier: Any, done: Any) -> None:
    from services.enrich import ner

    nlp = ner.load_model(ner.DEFAULT_MODEL)
    list(nlp.pipe(bodies[:5], batch_size=NLP_BATCH))  # first-call costs are not throughput
    barrier.wait()
    for _ in nlp.pipe(bodies, batch_size=NLP_BATCH):
        pass
    done.put(len(bodies))


def _enricher_child(texts: list[tuple[str, str]], done: Any) -> None:
    from services.enrich.pipeline import Enricher

    articles = raw_articles(texts, len(texts), "enricher")
    enricher = Enricher(batch_size=NLP_BATCH)
    enricher.enrich(articles[:5])
    start = time.perf_counter()
    for batch in chunks(articles, SERVICE_BATCH):
        enricher.enrich(batch)
    done.put(len(articles) / (time.perf_counter() - start))


def enricher_alone(texts: Sequence[tuple[str, str]]) -> float:
    """Articles/s of ``Enricher.enrich`` in one process, in reads of ``BATCH_SIZE``: enrich, no pipeline."""
    rate: float = _in_child(_enricher_child, list(texts))
    return rate


def _ner_alone_child(bodies: list[str], done: Any) -> None:
    from services.enrich import ner

    nlp = ner.load_model(ner.DEFAULT_MODEL)
    list(nlp.pipe(bodies[:5], batch_size=NLP_BATCH))
    times = []
    for body in bodies:
        start = time.perf_counter()
        list(nlp.pipe([body], batch_size=NLP_BATCH))
        times.append((time.perf_counter() - start) * 1000)
    done.put(times)


def raw_ner_alone(bodies: Sequence[str]) -> list[float]:
    """Milliseconds of bare NER on each body alone (one process): the floor of POST -> stored."""
    times: list[float] = _in_child(_ner_alone_child, list(bodies))
    return times


def _in_child(target: Any, work: list[Any]) -> Any:
    """Run ``target(work, queue)`` in a fresh process; return what it puts on the queue."""
    ctx = mp.get_context("spawn")
    done = ctx.Queue()
    child = ctx.Process(target=target, args=(work, done))
    child.start()
    try:
        return done.get(timeout=3600)
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()


def raw_ner(bodies: Sequence[str], procs: int) -> float:
    """Articles/s of bare ``nlp.pipe`` NER over ``bodies`` split across ``procs`` processes."""
    ctx = mp.get_context("spawn")
    barrier, done = ctx.Barrier(procs + 1), ctx.Queue()
    children = [
        ctx.Process(target=_ner_child, args=(list(bodies[k::procs]), barrier, done)) for k in range(procs)
    ]
    for child in children:
        child.start()
    try:
        barrier.wait(timeout=600)  # every model loaded and warm
        start = time.perf_counter()
        total = sum(done.get(timeout=3600) for _ in children)
        elapsed = time.perf_counter() - start
    finally:
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
    return float(total) / elapsed


# the stack


class Stack:
    """ingest, enrich and store as ``wirestream run`` starts them, on a prefix and database of their own."""

    def __init__(self, redis_url: str, workdir: Path) -> None:
        self.redis_url = redis_url
        self.prefix = f"wsbench-{uuid.uuid4().hex[:8]}"
        self.db_path = workdir / "store.db"
        self.ingest_url = f"http://127.0.0.1:{free_port()}"
        self.store_url = f"http://127.0.0.1:{free_port()}"
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "STREAM_PREFIX": self.prefix,
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "INGEST_PORT": self.ingest_url.rsplit(":", 1)[1],
            "STORE_PORT": self.store_url.rsplit(":", 1)[1],
            "BIND_HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",  # the services' output is shown, prefixed; warnings and errors only
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.enrich: list[subprocess.Popen[bytes]] = []
        self.stage: dict[int, str] = {}  # pid -> ingest, enrich or store

    def start(self) -> None:
        """Start store, one enrich worker and ingest (devstack's order and commands); wait until healthy."""
        port = free_port()
        self.procs = devstack.start_services({**self.env, "ENRICH_PORT": str(port)})
        self.enrich = [self.procs[devstack.SERVICES.index("enrich")]]
        self.stage = {proc.pid: name for proc, name in zip(self.procs, devstack.SERVICES, strict=True)}
        devstack.wait_healthy([self.store_url, self.ingest_url, f"http://127.0.0.1:{port}"], self.procs)

    def add_enrich(self) -> None:
        """Start one more enrich worker (a replica in the same consumer group); wait until it serves."""
        port = free_port()
        name = f"enrich{len(self.enrich) + 1}"
        proc = devstack.start(name, "services.enrich", {**self.env, "ENRICH_PORT": str(port)})
        self.procs.append(proc)
        self.enrich.append(proc)
        self.stage[proc.pid] = "enrich"
        devstack.wait_healthy([f"http://127.0.0.1:{port}"], self.procs)

    def cpu(self) -> dict[str, float]:
        """CPU seconds each stage's processes have used so far (Linux); empty where /proc is missing."""
        used: dict[str, float] = dict.fromkeys(devstack.SERVICES, 0.0)
        for proc in self.procs:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return {}
            used[self.stage[proc.pid]] += (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
        return used

    def stop_enrich(self) -> None:
        devstack.stop(self.enrich)
        self.procs = [p for p in self.procs if p not in self.enrich]
        self.enrich = []

    def stop(self) -> None:
        devstack.stop(self.procs)
        self.procs, self.enrich = [], []

    def drop_keys(self, redis: Redis) -> int:
        """Delete every key under the prefix; return how many there were."""
        keys = list(redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        for batch in chunks(keys, 500):
            redis.delete(*batch)
        return len(keys)


class StoredArticles:
    """The store's SQLite file, read-only: what it holds is what a reader of the store can get."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        return self._conn

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM articles").fetchone()[0])

    def present(self, ids: Collection[str]) -> set[str]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id FROM articles WHERE id IN ({marks})", list(ids))
        return {row[0] for row in rows}

    def wait_count(self, target: int, timeout: float) -> tuple[float, int]:
        """Poll until the store holds ``target`` articles; return that moment (perf_counter) and the count."""
        deadline = time.monotonic() + timeout
        while (count := self.count()) < target:
            if time.monotonic() > deadline:
                raise SystemExit(f"the store holds {count} articles of {target} after {timeout:.0f}s")
            time.sleep(COUNT_POLL_S)
        return time.perf_counter(), count

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def post_batch(client: httpx.Client, ingest_url: str, items: Sequence[Payload]) -> None:
    """POST one NDJSON batch; fail unless every article was accepted."""
    answer = client.post(
        f"{ingest_url}/v1/articles/batch",
        content=b"\n".join(orjson.dumps(item) for item in items),
        headers={"Content-Type": "application/x-ndjson"},
    )
    if answer.status_code != 200 or answer.json().get("accepted") != len(items):
        raise SystemExit(f"batch ingest answered {answer.status_code}: {answer.text[:500]}")


# 2. end to end


def end_to_end(
    stack: Stack, db: StoredArticles, texts: Sequence[tuple[str, str]], run: str, batch: int
) -> tuple[float, float, int]:
    """(steady, drain) articles/s, posted -> stored, of a backlog posted at once, and its size.

    The backlog is one read (``BATCH_SIZE``) per worker, then the texts, then one read per worker
    again. Steady: the articles stored per second from the moment the lead-in is stored to the moment
    as many more as there are texts are, so every worker is busy throughout (no start-up, and no end
    where one worker finishes its last read alone). Drain: every article of the backlog over the time
    from the first post to the last article stored.
    """
    extra = SERVICE_BATCH * len(stack.enrich)
    items = payloads(cycle(texts, extra + len(texts) + extra), run, f"e2e{len(stack.enrich)}")
    timeout = 120 + 10 * len(items)
    with httpx.Client(timeout=120) as client:
        base = db.count()
        start = time.perf_counter()
        for chunk in chunks(items, batch):
            post_batch(client, stack.ingest_url, chunk)
        lead_at, lead = db.wait_count(base + extra, timeout)
        timed_at, timed = db.wait_count(base + extra + len(texts), timeout)
        end, _ = db.wait_count(base + len(items), timeout)
    return steady_rate(lead_at, lead, timed_at, timed), len(items) / (end - start), len(items)


# 3. batch ingest


def batch_ingest(
    stack: Stack, redis: Redis, texts: Sequence[tuple[str, str]], run: str, batch: int, rounds: int
) -> tuple[float, float]:
    """(ingest, pipelined XADD) articles/s: rounds of posting, then XADD of the very entries ingest wrote."""
    raw, target = raw_stream(stack.prefix), f"{stack.prefix}:bench:xadd"
    ingest_s = xadd_s = 0.0
    done = 0
    with httpx.Client(timeout=120) as client:
        for n in range(rounds):
            newest: Any = redis.xrevrange(raw, "+", "-", count=1)
            after = newest[0][0].decode() if newest else "0-0"
            items = payloads(texts, run, f"ingest{n}")
            start = time.perf_counter()
            for chunk in chunks(items, batch):
                post_batch(client, stack.ingest_url, chunk)
            ingest_s += time.perf_counter() - start
            written: Any = redis.xrange(raw, f"({after}", "+")
            entries = [fields for _, fields in written]
            if len(entries) != len(items):
                raise SystemExit(f"ingest wrote {len(entries)} entries for {len(items)} articles")
            start = time.perf_counter()
            for chunk in chunks(entries, batch):
                with redis.pipeline(transaction=False) as pipe:
                    for fields in chunk:
                        pipe.xadd(target, fields)
                    pipe.execute()
            xadd_s += time.perf_counter() - start
            done += len(items)
    redis.delete(target)
    return done / ingest_s, done / xadd_s


# 4. latency


async def _latency(
    stack: Stack, db: StoredArticles, items: Sequence[Payload], rate: float
) -> dict[str, list[float]]:
    ids = [id_of(item) for item in items]
    bodies = [orjson.dumps(item) for item in items]
    scheduled: dict[str, float] = {}
    sent_late: list[float] = []
    stored: dict[str, float] = {}
    pending: set[str] = set()
    errors: list[str] = []

    async def poll() -> None:
        while len(stored) < len(ids) and not errors:
            if pending:
                found = db.present(pending)
                now = time.perf_counter()
                for key in found:
                    stored[key] = now
                pending.difference_update(found)
            await asyncio.sleep(POLL_S)

    async def post(client: httpx.AsyncClient, n: int) -> None:
        answer = await client.post(
            f"{stack.ingest_url}/v1/articles", content=bodies[n], headers={"Content-Type": "application/json"}
        )
        if answer.status_code != 202 or answer.json().get("id") != ids[n]:
            errors.append(f"{answer.status_code} {answer.text[:300]}")

    perf0, wall0 = time.perf_counter(), time.time()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        poller = asyncio.create_task(poll())
        sends = []
        for n, at in enumerate(send_times(time.perf_counter() + 0.2, rate, len(ids))):
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_late.append(max(time.perf_counter() - at, 0.0) * 1000)
            scheduled[ids[n]] = at
            pending.add(ids[n])
            sends.append(asyncio.create_task(post(client, n)))
        await asyncio.gather(*sends)
        await asyncio.wait_for(poller, timeout=120)
        if errors:
            raise SystemExit(f"{len(errors)} posts failed, e.g. {errors[0]}")
        # Where the time went, from the times the pipeline records: received (ingest), enriched.
        hops: dict[str, list[float]] = {"ingest": [], "enrich": [], "store": []}
        for key in ids:
            doc = (await client.get(f"{stack.store_url}/v1/articles/{key}")).json()
            received = datetime.fromisoformat(doc["received_at"]).timestamp()
            enriched = datetime.fromisoformat(doc["enriched_at"]).timestamp()
            posted = wall0 + scheduled[key] - perf0
            seen = wall0 + stored[key] - perf0
            hops["ingest"].append((received - posted) * 1000)
            hops["enrich"].append((enriched - received) * 1000)
            hops["store"].append((seen - enriched) * 1000)
    return {"total": [(stored[k] - scheduled[k]) * 1000 for k in ids], "late": sent_late, **hops}


def latency(
    stack: Stack, db: StoredArticles, items: Sequence[Payload], rate: float
) -> dict[str, list[float]]:
    """Milliseconds from each (scheduled) POST to its article stored, with the hops it passed."""
    return asyncio.run(_latency(stack, db, items, rate))


# 5. Redis cost


async def _cpu(redis: AsyncRedis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user_main_thread"]) + float(info["used_cpu_sys_main_thread"])


async def _drain(redis: AsyncRedis, stream: str, group: str, batch: int, *, room_check: str | None) -> int:
    """Read a group's backlog as a stage does: (XLEN of its output,) XREADGROUP, then XACK + HDEL."""
    failures, read = failures_key(stream, group), 0
    while True:
        if room_check is not None:
            await redis.xlen(room_check)  # enrich's gate: room in its output for one more batch
        answer: Any = await redis.xreadgroup(group, "bench-1", {stream: ">"}, count=batch)
        entry_ids = [entry_id for _, rows in answer or [] for entry_id, _ in rows]
        if not entry_ids:
            return read
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xack(stream, group, *entry_ids)
            pipe.hdel(failures, *entry_ids)
            await pipe.execute()
        read += len(entry_ids)


def _expect(read: int, count: int) -> None:
    if read != count:
        raise SystemExit(f"read {read} entries where {count} were written")


OPS = (
    "ingest publish (script: XADD raw + de-duplication), 1 per request",
    "enrich XLEN + XREADGROUP + XACK/HDEL",
    "enrich XADD to enriched",
    "store XREADGROUP + XACK/HDEL",
)


async def _pipeline_ops(
    redis: AsyncRedis, articles: Sequence[RawArticle], enriched: Sequence[dict[bytes, bytes]], batch: int
) -> dict[str, float]:
    """Redis CPU seconds of each of the six operations for every article, enrich and store reading
    (and enrich writing) ``batch`` entries at a time."""
    prefix = f"wsbench-ops-{batch}"
    raw, out = raw_stream(prefix), enriched_stream(prefix)
    await redis.xgroup_create(raw, ENRICH_GROUP, id="0", mkstream=True)
    await redis.xgroup_create(out, STORE_GROUP, id="0", mkstream=True)
    publisher = Publisher(redis, prefix)
    count, used = len(articles), []

    before = await _cpu(redis)
    for one in articles:  # single POSTs: one request, one publish each
        await publisher.publish([one])
    used.append(await _cpu(redis))
    _expect(await _drain(redis, raw, ENRICH_GROUP, batch, room_check=out), count)
    used.append(await _cpu(redis))
    for start in range(0, count, batch):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + batch, count)):
                pipe.xadd(out, enriched[n % len(enriched)])  # type: ignore[arg-type]
            await pipe.execute()
    used.append(await _cpu(redis))
    _expect(await _drain(redis, out, STORE_GROUP, batch, room_check=None), count)
    used.append(await _cpu(redis))
    marks = [before, *used]
    return {op: marks[k + 1] - marks[k] for k, op in enumerate(OPS)}


async def _stream_costs(
    url: str, articles: Sequence[RawArticle], enriched: Sequence[dict[bytes, bytes]]
) -> dict[str, dict[str, float]]:
    """Redis main-thread CPU seconds of each operation, for ``len(articles)`` articles, by scenario."""
    redis = AsyncRedis.from_url(url)
    costs: dict[str, dict[str, float]] = {}
    fresh = iter(range(10**9))

    def renamed() -> list[RawArticle]:  # ids never published before: no post is a duplicate
        return [a.model_copy(update={"id": f"{next(fresh):016x}"}) for a in articles]

    try:
        await Publisher(redis, "wsbench-warm").publish(renamed()[:1])  # load the script
        for batch in (SERVICE_BATCH, 1):
            costs[f"reads of {batch}"] = await _pipeline_ops(redis, renamed(), enriched, batch)
        extra: dict[str, float] = {}
        out, count = enriched_stream(f"wsbench-ops-{SERVICE_BATCH}"), len(articles)
        before, last, seen = await _cpu(redis), "0-0", 0
        while seen < count:
            answer: Any = await redis.xread({out: last}, count=FEED_BATCH)
            rows = answer[0][1]
            last, seen = rows[-1][0], seen + len(rows)
        extra[f"the store's live-feed reader, XREAD {FEED_BATCH}"] = await _cpu(redis) - before
        publisher, batches = Publisher(redis, "wsbench-ops-batched"), list(chunks(renamed(), 100))
        before = await _cpu(redis)
        for group in batches:
            await publisher.publish(group)
        extra["ingest publish in batches of 100 (instead of 1 per request)"] = await _cpu(redis) - before
        costs["extra"] = extra
    finally:
        await redis.aclose()
    return costs


def stream_costs(
    workdir: Path, articles: Sequence[RawArticle], enriched: Sequence[dict[bytes, bytes]]
) -> tuple[dict[str, dict[str, float]], str]:
    """Run the stream operations of ``articles`` on a private redis-server; (CPU s per step, version)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = start_redis(url, workdir / "redis-ops", aof="everysec")
    try:
        with Redis.from_url(url) as sync:
            version = str(sync.info("server")["redis_version"])
        return asyncio.run(_stream_costs(url, articles, enriched)), version
    finally:
        proc.terminate()
        proc.wait(10)


def raw_articles(texts: Sequence[tuple[str, str]], count: int, run: str) -> list[RawArticle]:
    """Raw articles as ingest publishes them, from the texts (repeated as needed), distinct ids."""
    now = datetime.now(UTC)
    items = payloads([texts[n % len(texts)] for n in range(count)], run, "ops")
    return [RawArticle(id=uuid.uuid4().hex[:16], received_at=now, **item) for item in items]


# the run


@contextmanager
def redis_at(url: str, workdir: Path) -> Iterator[Redis]:
    """A client of the Redis at ``url``; start a redis-server there first if none answers."""
    proc = None if redis_answers(url) else start_redis(url, workdir / "redis", aof="no")
    try:
        with Redis.from_url(url) as client:
            yield client
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


class Others:
    """The share of the machine's CPU that other processes took during each phase of the run.

    All busy CPU time (user, nice, system, irq, softirq in /proc/stat) less this process tree's (this
    process, the services and Redis servers it started, its workers) and the shared Redis server's (INFO;
    it serves this run). Linux only: elsewhere nothing is recorded. Kernel threads count as others: about
    1%; a share a little below zero is the two clocks' rounding.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.shares: dict[str, float] = {}

    def _reading(self) -> float | None:
        try:
            head = Path("/proc/stat").read_text().split("\n", 1)[0].split()
            user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in head[1:8])
            busy = (user + nice + system + irq + softirq) / TICK  # a process's stime includes its irqs
            info: Any = self.redis.info("cpu")
            redis_s = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        except (OSError, IndexError, ValueError):
            return None
        return busy - _tree_cpu(os.getpid()) - redis_s

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start, began = self._reading(), time.monotonic()
        yield
        end = self._reading()
        if start is not None and end is not None:
            self.shares[name] = (end - start) / ((time.monotonic() - began) * (os.cpu_count() or 1))


def _tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its descendants, including the children they reaped."""
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        used[pid] = sum(int(v) for v in fields[11:15]) / TICK  # utime, stime, cutime, cstime
    total, todo = 0.0, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def _commit() -> str:
    """The checkout's commit, marked when files differ from it; empty outside a git checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "-uno"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return ""
    return head.stdout.strip() + (" (modified)" if dirty.stdout.strip() else "")


def _say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    texts = load_texts(args.articles, args.seed)
    bodies = [body for _, body in texts]
    run_id = uuid.uuid4().hex[:8]
    r: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "articles": len(texts),
        "words": sum(len(b.split()) for b in bodies) // len(bodies),
        "batch": args.batch,
        "load_before": os.getloadavg()[0],
        "raw_ner": {},
        "steady": {},
        "drain": {},
        "latency": {},
        "cpu_ms": {},
    }
    _say(f"{r['date']}  commit {r['commit']}  {r['machine']}  load average {r['load_before']:.2f}")
    _say(f"BBC News: {len(texts)} articles, {r['words']} words on average; Redis at {args.redis_url}")
    with (
        tempfile.TemporaryDirectory(prefix="ws-pipeline-") as tmp,
        redis_at(args.redis_url, Path(tmp)) as redis,
    ):
        r["redis"] = str(redis.info("server")["redis_version"])
        others = Others(redis)
        stack = Stack(args.redis_url, Path(tmp))
        db = StoredArticles(stack.db_path)
        try:
            stack.start()
            for workers in args.workers:
                while len(stack.enrich) < workers:
                    stack.add_enrich()
                with others.phase(f"raw NER, {workers} process(es)"):
                    raw = r["raw_ner"][workers] = raw_ner(bodies, workers)
                if workers == 1:
                    with others.phase("Enricher.enrich alone"):
                        r["enricher"] = enricher_alone(texts)
                    _say(f"Enricher.enrich alone: {r['enricher']:.1f}/s ({r['enricher'] / raw:.2f}x raw NER)")
                before = stack.cpu()
                with others.phase(f"end to end, {workers} worker(s)"):
                    steady, drain, posted = end_to_end(stack, db, texts, run_id, args.batch)
                r["cpu_ms"][f"backlog, {workers} worker(s)"] = cpu_per_article(before, stack.cpu(), posted)
                r["steady"][workers], r["drain"][workers] = steady, drain
                _say(
                    f"{workers} enrich worker(s): raw NER {raw:.1f}/s on {workers} process(es); end to end "
                    f"{steady:.1f}/s ({steady / raw:.2f}x), draining {drain:.1f}/s"
                )
                rate = steady / 2
                count = max(int(rate * args.latency_seconds), 20)
                items = payloads(cycle(texts, count), run_id, f"latency{workers}")
                before = stack.cpu()
                with others.phase(f"latency, {workers} worker(s)"):
                    lat = latency(stack, db, items, rate)
                r["cpu_ms"][f"single POSTs, {workers} worker(s)"] = cpu_per_article(
                    before, stack.cpu(), count
                )
                r["latency"][workers] = {
                    "rate": rate,
                    "posts": count,
                    "ms": {hop: {p: percentile(v, p) for p in PCTS} for hop, v in lat.items()},
                }
                _say(f"  {count} single POSTs at {rate:.1f}/s: p99 {percentile(lat['total'], 99):.0f} ms")
            most = max(v["posts"] for v in r["latency"].values())
            with others.phase("raw NER of each article alone"):
                alone = raw_ner_alone(cycle(bodies, min(most, ALONE_MAX)))
            r["ner_alone_ms"] = {p: percentile(alone, p) for p in PCTS}
            sample: Any = redis.xrange(enriched_stream(stack.prefix), count=500)
            enriched = [fields for _, fields in sample]
            raw_sample: Any = redis.xrange(raw_stream(stack.prefix), count=500)
            r["raw_entry_bytes"] = entry_bytes([fields for _, fields in raw_sample])
            r["enriched_entry_bytes"] = entry_bytes(enriched)
            stack.stop_enrich()
            with others.phase("batch ingest and XADD"):
                r["ingest"], r["xadd"] = batch_ingest(
                    stack, redis, cycle(texts, args.ingest_articles), run_id, args.batch, args.ingest_rounds
                )
        finally:
            db.close()
            try:
                stack.stop()
            finally:
                r["keys_deleted"] = stack.drop_keys(redis)
        _say("the Redis cost of an article, on a private redis-server")
        with others.phase("Redis cost"):
            costs, version = stream_costs(Path(tmp), raw_articles(texts, args.ops_articles, run_id), enriched)
    r.update(ops_redis=version, ops_articles=args.ops_articles, ops_cpu_s=costs)
    first = args.workers[0]
    r["enrich_per_core"] = r["steady"][first] / first
    r["shard_articles_per_s"] = {
        reads: shard_capacity(sum(ops.values()), args.ops_articles)
        for reads, ops in costs.items()
        if reads != "extra"
    }
    r["enrich_cores_per_shard"] = {
        reads: shard / r["enrich_per_core"] for reads, shard in r["shard_articles_per_s"].items()
    }
    r["load_after"] = os.getloadavg()[0]
    r["others"] = others.shares
    return r


def entry_bytes(entries: Sequence[dict[bytes, bytes]]) -> int:
    """Average bytes of field names and values per stream entry."""
    return sum(len(k) + len(v) for e in entries for k, v in e.items()) // max(len(entries), 1)


def cpu_per_article(before: dict[str, float], after: dict[str, float], articles: int) -> dict[str, float]:
    """Milliseconds of CPU per article each stage used between two readings."""
    return {
        stage: (after[stage] - used) * 1000 / articles for stage, used in before.items() if stage in after
    }


def report(r: dict[str, Any]) -> None:
    raw, steady, drain = r["raw_ner"], r["steady"], r["drain"]
    first = min(raw)
    print()
    print(
        f"Pipeline on {r['articles']} BBC articles ({r['words']} words on average); Redis {r['redis']}; "
        f"commit {r['commit']}"
    )
    print(f"{r['machine']}; load average {r['load_before']:.2f} before, {r['load_after']:.2f} after")
    print()
    if r["others"]:
        print(
            "     CPU the rest of the machine took meanwhile (share of all cores; over "
            f"{DISTURBED:.0%} the figure is disturbed):"
        )
        for name, share in r["others"].items():
            mark = "   DISTURBED" if share > DISTURBED else ""
            print(f"     {name:<36} {share:7.1%}{mark}")
        print()
    print("1-2. articles/s           raw spaCy NER   end to end (steady)   / raw NER   draining a backlog")
    for k in raw:
        print(
            f"     {k} process(es)       {raw[k]:13.1f}   {steady[k]:19.1f}   {steady[k] / raw[k]:8.2f}x"
            f"   {drain[k]:8.1f} ({drain[k] / raw[k]:.2f}x)"
        )
        if k == 1 and "enricher" in r:
            print(
                f"     Enricher.enrich alone, 1 process, reads of {SERVICE_BATCH}: {r['enricher']:.1f}/s = "
                f"{r['enricher'] / raw[1]:.2f}x raw NER; the pipeline is "
                f"{steady[1] / r['enricher']:.2f}x of it"
            )
        if k != first:
            print(
                f"     {k} against {first}: raw NER {raw[k] / raw[first]:.2f}x, end to end "
                f"{steady[k] / steady[first]:.2f}x"
            )
    print()
    print(
        f"3.   batch ingest, NDJSON, {r['batch']} per POST: {r['ingest']:,.0f} articles/s; pipelined XADD of "
        f"the same entries: {r['xadd']:,.0f}/s; ratio {r['ingest'] / r['xadd']:.3f}"
    )
    print()
    alone = r["ner_alone_ms"]
    print(
        "4.   POST -> stored (ms), single POSTs open loop, evenly paced at half the steady capacity; stored ="
        f" seen in the database ({POLL_S * 1000:.0f} ms polls)"
    )
    print(f"     {'':<36} {'p50':>7} {'p95':>7} {'p99':>7}")
    print(f"     {'raw NER of each article alone':<36} {alone[50]:7.1f} {alone[95]:7.1f} {alone[99]:7.1f}")
    names = {
        "total": "POST -> stored",
        "ingest": "  POST -> received_at",
        "enrich": "  received_at -> enriched_at",
        "store": "  enriched_at -> stored",
        "late": "  (sends behind schedule)",
    }
    for k, lat in r["latency"].items():
        print(f"     {k} enrich worker(s), {lat['posts']} POSTs at {lat['rate']:.1f}/s:")
        for hop, name in names.items():
            row = lat["ms"][hop]
            print(f"     {name:<36} {row[50]:7.1f} {row[95]:7.1f} {row[99]:7.1f}")
        total = lat["ms"]["total"]
        ratios = " / ".join(f"{total[p] / alone[p]:.1f}" for p in PCTS)
        print(f"     {'  / raw NER alone':<36} {ratios:>23}")
    print()
    if any(r["cpu_ms"].values()):
        print("     CPU per article (ms) of each stage's processes, in the runs above (idle time included):")
        print(f"     {'':<36} {'ingest':>7} {'enrich':>7} {'store':>7}")
        for run_name, used in r["cpu_ms"].items():
            if used:
                print(f"     {run_name:<36} {used['ingest']:7.2f} {used['enrich']:7.2f} {used['store']:7.2f}")
        print()
    costs: dict[str, dict[str, float]] = r["ops_cpu_s"]
    n = r["ops_articles"]
    scenarios = [reads for reads in costs if reads != "extra"]
    print(
        f"5.   Redis main-thread CPU per article (us), {n:,} articles, private redis-server {r['ops_redis']} "
        "(appendfsync everysec);"
    )
    print(
        f"     entries as in the run above: raw {r['raw_entry_bytes']:,} bytes, enriched "
        f"{r['enriched_entry_bytes']:,} bytes"
    )
    print(
        f"     {'enrich and store read and enrich writes, in':<66}" + "".join(f"{s:>13}" for s in scenarios)
    )
    for op in OPS:
        print(f"     {op:<66}" + "".join(f"{costs[s][op] / n * 1e6:13.1f}" for s in scenarios))
    print(
        f"     {'the six operations':<66}"
        + "".join(f"{sum(costs[s].values()) / n * 1e6:13.1f}" for s in scenarios)
    )
    shard, cores = r["shard_articles_per_s"], r["enrich_cores_per_shard"]
    print(f"     {'articles/s one Redis core takes':<66}" + "".join(f"{shard[s]:13,.0f}" for s in scenarios))
    per_core = f"enrich cores one shard serves (enrich: {r['enrich_per_core']:.1f}/s per core)"
    print(f"     {per_core:<66}" + "".join(f"{cores[s]:13,.0f}" for s in scenarios))
    for step, secs in costs["extra"].items():
        print(f"     and beyond the six: {step}: {secs / n * 1e6:.1f} us")


def _stopped(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    """Run every measurement in one go and print the figures beside their baselines."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=800, help="articles per throughput run (BBC texts)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="enrich workers, in order")
    ap.add_argument("--batch", type=int, default=100, help="articles per POST /v1/articles/batch")
    ap.add_argument("--latency-seconds", type=float, default=20, help="how long the paced POSTs last")
    ap.add_argument("--ingest-articles", type=int, default=1500, help="articles per batch-ingest round")
    ap.add_argument("--ingest-rounds", type=int, default=3)
    ap.add_argument("--ops-articles", type=int, default=10_000, help="articles of the Redis cost run")
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    args = ap.parse_args()
    if sorted(set(args.workers)) != args.workers:
        ap.error("--workers must be increasing, e.g. 1 2")
    for sig in (signal.SIGTERM, signal.SIGHUP):  # stop the services and delete the keys on the way out
        signal.signal(sig, _stopped)
    results = run(args)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
