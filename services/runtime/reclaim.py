"""Reclaiming: entries left pending by a failure or a dead consumer are taken over once idle.

An entry delivered more than ``max_deliveries`` times for reasons of its own is dead-lettered with
its last error; one that failed only because a dependency was down is retried for as long as it takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services import metrics
from services.runtime.codec import text
from services.runtime.runner import TRANSIENT_MARK, StageRunner


async def delivery_counts(runner: StageRunner[Any], entry_ids: Sequence[str]) -> dict[str, int]:
    """Return how often each entry was delivered, read with one exact XPENDING per entry.

    A single min..max range could be filled up by entries in flight between the claimed ones (not
    idle, so not claimed) and miss the later ones' counts.
    """
    async with runner.redis.pipeline(transaction=False) as pipe:
        for entry_id in entry_ids:
            pipe.xpending_range(runner.stream, runner.group, min=entry_id, max=entry_id, count=1)
        answers = await pipe.execute()
    return {text(r["message_id"]): int(r["times_delivered"]) for rows in answers for r in rows}


async def reclaim_once(runner: StageRunner[Any], min_idle_ms: int, count: int) -> int:
    """Take over up to ``count`` entries idle past ``min_idle_ms``; return how many were claimed."""
    if not await runner.healthy():
        return 0  # reclaiming now would only burn delivery attempts
    _next, claimed, *_ = await runner.redis.xautoclaim(
        runner.stream, runner.group, runner.consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
    )
    entries = [(text(entry_id), fields) for entry_id, fields in claimed if fields is not None]
    if not entries:
        return 0
    metrics.RECLAIMED.labels(stage=runner.stage).inc(len(entries))
    deliveries = await delivery_counts(runner, [e for e, _ in entries])
    errors = await runner.redis.hmget(runner.failures, [e for e, _ in entries])
    fresh = []
    for (entry_id, fields), error in zip(entries, errors, strict=True):
        n = deliveries.get(entry_id, 1)
        reason = text(error) if error else "no error recorded (its consumer died while processing it)"
        # Failures caused by an unreachable dependency never make an entry poison.
        if n > runner.max_deliveries and not reason.startswith(TRANSIENT_MARK):
            await runner.dead_letter(entry_id, fields, f"gave up after {n - 1} deliveries: {reason}", n - 1)
        else:
            fresh.append((entry_id, fields))
    if fresh:
        await runner.handle(fresh, deliveries)
    return len(entries)
