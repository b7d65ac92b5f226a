"""Consumer-group mechanics shared by every consuming stage.

Each entry ends in one of three ways (see services/errors.py):
- processed: its effect is durable (next XADD or DB commit), then it is acknowledged;
- poison: it cannot be read, or it failed ``max_deliveries`` times: it is copied to the dead-letter
  stream with the stage, the error and the delivery count, then acknowledged;
- transient failure: it stays pending and is reclaimed (XAUTOCLAIM) once idle, by any live consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from services import metrics
from services.contracts import decode_fields, failures_key, parse_model
from services.errors import MalformedEntry, is_transient

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Fields = dict[bytes, bytes]
TRANSIENT_MARK = "transient: "


@dataclass(frozen=True)
class Item(Generic[M]):
    """A decoded entry: its stream id and its article."""

    entry_id: str
    value: M


async def ensure_group(redis: Redis, stream: str, group: str) -> bool:
    """Create the group at 0 with MKSTREAM so nothing posted before the first start is missed."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
        return False
    return True


async def always_healthy() -> bool:
    """Report a stage without dependencies of its own as always able to work."""
    return True


@dataclass
class StageRunner(Generic[M]):
    """Decode, process, acknowledge or dead-letter the entries of one consumer group."""

    redis: Redis
    stream: str
    group: str
    consumer: str
    dead_stream: str
    stage: str
    model: type[M]
    process: Callable[[Sequence[Item[M]]], Awaitable[None]]
    max_deliveries: int = 5
    dead_maxlen: int = 100_000
    healthy: Callable[[], Awaitable[bool]] = always_healthy
    transient_pause_s: float = 1.0

    @property
    def failures(self) -> str:
        return failures_key(self.stream, self.group)

    async def handle(
        self, entries: Sequence[tuple[str, Fields]], deliveries: dict[str, int] | None = None
    ) -> None:
        """Run one batch of (entry id, fields); acknowledge what is done, dead-letter what never will be."""
        items: list[Item[M]] = []
        for entry_id, fields in entries:
            try:
                body, _headers = decode_fields(fields)
                items.append(Item(entry_id, parse_model(self.model, body)))
            except MalformedEntry as exc:
                await self.dead_letter(
                    entry_id, fields, f"malformed: {exc}", (deliveries or {}).get(entry_id, 1)
                )
        if not items:
            return
        try:
            await self.process(items)
        except Exception as exc:
            if is_transient(exc) or len(items) == 1:
                await self._record_failures([i.entry_id for i in items], exc)
                return
            # One bad article must not hold back the rest: retry one by one to isolate it.
            log.warning("batch of %d failed in %s (%s); retrying one by one", len(items), self.stage, exc)
            for item in items:
                try:
                    await self.process([item])
                except Exception as single_exc:
                    await self._record_failures([item.entry_id], single_exc)
                else:
                    await self.ack([item.entry_id])
            return
        await self.ack([i.entry_id for i in items])

    async def _record_failures(self, entry_ids: Sequence[str], exc: BaseException) -> None:
        transient = is_transient(exc)
        error = f"{TRANSIENT_MARK if transient else ''}{type(exc).__name__}: {exc}"[:2000]
        metrics.FAILURES.labels(stage=self.stage, kind="transient" if transient else "entry").inc(
            len(entry_ids)
        )
        log.warning("%d entries left pending in %s: %s", len(entry_ids), self.stage, error)
        try:
            await self.redis.hset(self.failures, mapping=dict.fromkeys(entry_ids, error))
        except RedisError:
            log.warning("could not record the failure of %s in Redis", self.stage)
        if transient:
            await asyncio.sleep(self.transient_pause_s)  # let the dependency recover instead of spinning

    async def ack(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge entries whose effect is durable."""
        if entry_ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(self.stream, self.group, *entry_ids)
                pipe.hdel(self.failures, *entry_ids)
                await pipe.execute()
            metrics.PROCESSED.labels(stage=self.stage).inc(len(entry_ids))

    async def dead_letter(self, entry_id: str, fields: Fields, error: str, deliveries: int) -> None:
        """Copy an entry to the dead-letter stream with its reason, then acknowledge it."""
        record: dict[Any, Any] = {
            "stage": self.stage,
            "stream": self.stream,
            "entry_id": entry_id,
            "error": error[:2000],
            "deliveries": str(deliveries),
            "dead_at": str(int(time.time() * 1000)),
        }
        for key, value in fields.items():
            record[b"orig:" + (key if isinstance(key, bytes) else str(key).encode())] = value
        await self.redis.xadd(self.dead_stream, record, maxlen=self.dead_maxlen, approximate=True)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.hdel(self.failures, entry_id)
            await pipe.execute()
        metrics.DEAD.labels(stage=self.stage).inc()
        log.error("entry %s dead-lettered from %s: %s", entry_id, self.stage, error)

    async def reclaim_once(self, min_idle_ms: int, count: int) -> int:
        """Take over entries idle past ``min_idle_ms``; dead-letter those that failed too often."""
        if not await self.healthy():
            return 0  # reclaiming now would only burn delivery attempts
        _next, claimed, *_ = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
        )
        entries = [(_text(eid), fields) for eid, fields in claimed if fields is not None]
        if not entries:
            return 0
        metrics.RECLAIMED.labels(stage=self.stage).inc(len(entries))
        deliveries = await self._delivery_counts([e for e, _ in entries])
        errors = await self.redis.hmget(self.failures, [e for e, _ in entries])
        fresh = []
        for (entry_id, fields), error in zip(entries, errors, strict=True):
            n = deliveries.get(entry_id, 1)
            reason = _text(error) if error else "no error recorded (its consumer died while processing it)"
            # Failures caused by an unreachable dependency never make an entry poison.
            if n > self.max_deliveries and not reason.startswith(TRANSIENT_MARK):
                await self.dead_letter(entry_id, fields, f"gave up after {n - 1} deliveries: {reason}", n - 1)
            else:
                fresh.append((entry_id, fields))
        if fresh:
            await self.handle(fresh, deliveries)
        return len(entries)

    async def _delivery_counts(self, entry_ids: Sequence[str]) -> dict[str, int]:
        # One exact XPENDING per claimed entry: a single min..max range can be filled up by entries in
        # flight between the claimed ones (not idle, so not claimed) and miss the later ones' counts.
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            answers = await pipe.execute()
        return {_text(r["message_id"]): int(r["times_delivered"]) for rows in answers for r in rows}

    async def reclaim_forever(
        self, min_idle_ms: int, count: int, on_missing_group: Callable[[], Awaitable[None]]
    ) -> None:
        """Reclaim idle entries until cancelled; recreate the group whenever Redis has lost it."""
        pause = min(max(min_idle_ms / 4000, 0.05), 2.0)
        while True:
            try:
                while await self.reclaim_once(min_idle_ms, count):
                    pass
            except Exception as exc:
                try:
                    if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                        await on_missing_group()
                    elif is_transient(exc):
                        log.warning("reclaim in %s waits for a dependency: %s", self.stage, exc)
                    else:
                        log.exception("reclaim failed in %s", self.stage)
                except Exception:
                    log.exception("recovering the %s consumer group failed; retrying", self.stage)
            await asyncio.sleep(pause)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
