"""Memory of ingest's de-duplication: a set of every id, against a window of text ids and of intsets.

Three designs remember the same distinct article ids, posted through the same check, XADD, SADD
(EXPIRE) pattern in one Lua script per article on a real Redis, each under a prefix of its own:

- baseline: one set of every id as text, as ingest kept it before the window (it grows forever);
- text window: one set of text ids per period, read for this and the previous period, each set living
  until the next period ends;
- intset window: ingest's publisher script and keys (services/ingest/dedup.py): ids hashed to 64-bit
  integers in ``--buckets`` sets per period, small enough to stay intsets.

Periods pass on the real clock, ``--window`` seconds each instead of days: ``--per-period`` ids are
posted at the start of every period, then the bench waits for the next one. Memory is the sum of
MEMORY USAGE over each design's keys (and, noisier, INFO's used_memory), sampled at the end of every
period;
the stream each script appends to is emptied after every chunk, so it does not count. Figures are
bytes per id and ratios to the baseline of the same run. Every key of the run is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from services.contracts import raw_stream
from services.ingest.publisher import PUBLISH_ONCE, Publisher

CHUNK = 2000  # scripts per pipeline round trip
SAMPLE_BEFORE_END_S = 0.5  # long enough for a sample, after the EXPIRE rounded up to whole seconds

# The baseline: the script ingest ran before the window, one set of every id.
_EVERY_ID = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return false end
local entry = redis.call('XADD', KEYS[2], '*', '__data__', ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
return entry
"""


def article_ids(start: int, count: int) -> list[str]:
    """Distinct ids shaped like ingest's (16 hex digits): an odd multiplier mod 2**64 is a bijection."""
    return [f"{(n * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF:016x}" for n in range(start, start + count)]


@dataclass
class Design:
    """One way of remembering ids: ``post`` publishes ids at a Unix time, answering True per new id."""

    name: str
    prefix: str
    post: Callable[[list[str], float], Awaitable[list[bool]]]
    samples: list[tuple[int, int, int, int]] = field(default_factory=list)  # posted, alive, bytes, used


def every_id(redis: Redis, prefix: str) -> Design:
    script = redis.register_script(_EVERY_ID)
    keys = [f"{prefix}:seen", raw_stream(prefix)]

    async def post(ids: list[str], now: float) -> list[bool]:
        async with redis.pipeline(transaction=False) as pipe:
            for article_id in ids:
                await script(keys=keys, args=[article_id, article_id], client=pipe)
            return [bool(r) for r in await pipe.execute()]

    return Design("baseline: every id, text", prefix, post)


def text_window(redis: Redis, prefix: str, window: float) -> Design:
    script = redis.register_script(PUBLISH_ONCE)  # members are text ids here

    async def post(ids: list[str], now: float) -> list[bool]:
        period = math.floor(now / window)
        ttl = max(1, math.ceil((period + 2) * window - now))
        keys = [f"{prefix}:text:{period}", f"{prefix}:text:{period - 1}", raw_stream(prefix)]
        async with redis.pipeline(transaction=False) as pipe:
            for article_id in ids:
                await script(keys=keys, args=[article_id, article_id, ttl], client=pipe)
            return [bool(r) for r in await pipe.execute()]

    return Design("window, text ids", prefix, post)


def intset_window(redis: Redis, prefix: str, window: float, buckets: int) -> Design:
    publisher = Publisher(redis, prefix, window=timedelta(seconds=window), buckets=buckets)

    async def post(ids: list[str], now: float) -> list[bool]:
        # The publisher's own script, keys and arguments; only the entry is shorter than an article.
        async with redis.pipeline(transaction=False) as pipe:
            for article_id in ids:
                slot = publisher.dedup.slot(article_id, now)
                pipe.eval(
                    PUBLISH_ONCE,
                    3,
                    slot.current,
                    slot.previous,
                    publisher.stream,
                    slot.member,
                    article_id,
                    slot.ttl,
                )
            return [bool(r) for r in await pipe.execute()]

    return Design("window, intsets (ingest)", prefix, post)


async def measure(redis: Redis, design: Design) -> tuple[int, int]:
    """Ids held and bytes used by the design's sets (MEMORY USAGE of every element)."""
    alive = used = 0
    async for key in redis.scan_iter(match=f"{design.prefix}:*", count=1000):
        if key.endswith(b":raw"):
            continue
        used += int(await redis.memory_usage(key, samples=0) or 0)
        alive += int(await redis.scard(key))
    return alive, used


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def wait_for_period(window: float, period: int) -> None:
    """Sleep until the clock reaches ``period`` (a bench paces itself on the real clock)."""
    await asyncio.sleep(max(0.0, period * window - time.time()))


async def run_design(redis: Redis, design: Design, args: argparse.Namespace) -> dict[str, object]:
    periods = math.ceil(args.ids / args.per_period)
    before = await used_memory(redis)
    period = math.floor(time.time() / args.window) + 1
    posted, slow = 0, 0
    for n in range(periods):
        await wait_for_period(args.window, period + n)
        count = min(args.per_period, args.ids - posted)
        for start in range(posted, posted + count, CHUNK):
            ids = article_ids(start, min(CHUNK, posted + count - start))
            assert all(await design.post(ids, time.time())), "a distinct id was taken for a duplicate"
            await redis.xtrim(raw_stream(design.prefix), maxlen=0)
        posted += count
        if time.time() >= (period + n + 1) * args.window:
            slow += 1  # this period's ids spilled into the next: the window holds more than planned
        # Sampled at the end of the period, when the window holds the most: this period and the last.
        await asyncio.sleep(max(0.0, (period + n + 1) * args.window - SAMPLE_BEFORE_END_S - time.time()))
        alive, used = await measure(redis, design)
        design.samples.append((posted, alive, used, await used_memory(redis) - before))
        print(
            f"  {design.name:<26} period {n + 1:>2}: {posted:>9,} posted {alive:>9,} held "
            f"{used / 1e6:7.1f} MB {used / max(alive, 1):6.1f} B/id  "
            f"used_memory +{design.samples[-1][3] / 1e6:.1f} MB",
            flush=True,
        )
    # Reposts now: ids of the last period are duplicates; ids of three periods ago only for the baseline.
    now = time.time()
    recent = article_ids(posted - 1000, 1000)
    old = article_ids(max(0, posted - 3 * args.per_period - 1000), 1000)
    again_recent = sum(await design.post(recent, now))
    again_old = sum(await design.post(old, now))
    await redis.xtrim(raw_stream(design.prefix), maxlen=0)
    return {"recent": again_recent, "old": again_old, "slow": slow}


async def drop(redis: Redis, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start : start + 1000])


async def run(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis_url)
    run_id = uuid.uuid4().hex[:8]
    designs = [
        every_id(redis, f"wsbench-{run_id}-every"),
        text_window(redis, f"wsbench-{run_id}-text", args.window),
        intset_window(redis, f"wsbench-{run_id}-intset", args.window, args.buckets),
    ]
    limit = (await redis.config_get("set-max-intset-entries")).get("set-max-intset-entries")
    max_intset = int(str(limit))
    print(
        f"{args.ids:,} distinct ids, {args.per_period:,} per period of {args.window:g} s, {args.buckets} "
        f"buckets per period ({args.per_period / args.buckets:.0f} ids each; intsets up to {max_intset})",
        flush=True,
    )
    checks = {}
    try:
        for design in designs:
            checks[design.name] = await run_design(redis, design, args)
            await drop(redis, design.prefix)
    finally:
        for design in designs:
            await drop(redis, design.prefix)
        await redis.aclose()
    report(designs, checks, args)


def report(designs: list[Design], checks: dict[str, dict[str, object]], args: argparse.Namespace) -> None:
    base = designs[0].samples[-1][2]
    print()
    print(
        f"{'design':<26} {'B/id, 1st period':>16} {'after all ids':>14} {'flat from period 3':>19}"
        f" {'vs baseline':>11}  reposts: last period / 3 periods ago published again"
    )
    for design in designs:
        _, first_alive, first_used, _ = design.samples[0]
        end = design.samples[-1][2]
        later = [used for _, _, used, _ in design.samples[2:]] or [end]
        flat = f"{min(later) / 1e6:.1f}-{max(later) / 1e6:.1f} MB"
        check = checks[design.name]
        print(
            f"{design.name:<26} {first_used / first_alive:16.1f} {end / 1e6:11.1f} MB {flat:>19}"
            f" {end / base:11.2f}  {check['recent']}/1000 / {check['old']}/1000"
            + (f"  ({check['slow']} periods overran)" if check["slow"] else "")
        )


def main() -> None:
    """Post the same ids to the three designs and print memory per id and ratios."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ids", type=int, default=1_000_000, help="distinct ids posted to each design")
    ap.add_argument("--per-period", type=int, default=125_000, help="ids posted in each period")
    ap.add_argument("--window", type=float, default=16.0, help="seconds of one period (DEDUP_WINDOW)")
    ap.add_argument(
        "--buckets",
        type=int,
        default=None,
        help="buckets per period; default: as full as ingest's default at 1.5 M articles a day",
    )
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    if args.buckets is None:
        # 16384 buckets for 3 M ids a period (1.5 M a day, a 2-day window): ~183 ids a bucket.
        args.buckets = max(1, round(args.per_period / 183))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
