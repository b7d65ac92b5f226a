"""Consumer-group mechanics shared by every consuming stage.

Each entry ends in one of three ways:
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
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services import metrics
from services.contracts import MalformedEntry, decode_fields, parse_model

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Fields = dict[bytes, bytes]


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
    _errors: dict[str, str] = field(default_factory=dict)

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
            if len(items) == 1:
                self._record_failure(items[0].entry_id, exc)
                return
            # One bad article must not hold back the rest: retry one by one to isolate it.
            log.warning("batch of %d failed in %s (%s); retrying one by one", len(items), self.stage, exc)
            done = []
            for item in items:
                try:
                    await self.process([item])
                except Exception as single_exc:
                    self._record_failure(item.entry_id, single_exc)
                else:
                    done.append(item.entry_id)
            await self.ack(done)
            return
        await self.ack([i.entry_id for i in items])

    def _record_failure(self, entry_id: str, exc: BaseException) -> None:
        self._errors[entry_id] = f"{type(exc).__name__}: {exc}"
        metrics.FAILURES.labels(stage=self.stage).inc()
        log.warning("entry %s failed in %s, left pending: %s", entry_id, self.stage, self._errors[entry_id])

    async def ack(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge entries whose effect is durable."""
        if entry_ids:
            await self.redis.xack(self.stream, self.group, *entry_ids)
            metrics.PROCESSED.labels(stage=self.stage).inc(len(entry_ids))
            for entry_id in entry_ids:
                self._errors.pop(entry_id, None)

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
            record[b"orig:" + key] = value
        await self.redis.xadd(self.dead_stream, record, maxlen=self.dead_maxlen, approximate=True)
        await self.redis.xack(self.stream, self.group, entry_id)
        self._errors.pop(entry_id, None)
        metrics.DEAD.labels(stage=self.stage).inc()
        log.error("entry %s dead-lettered from %s: %s", entry_id, self.stage, error)

    async def reclaim_once(self, min_idle_ms: int, count: int) -> int:
        """Take over entries idle past ``min_idle_ms``; dead-letter those delivered too often."""
        _next, claimed, *_ = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
        )
        entries = [(self._id(eid), fields) for eid, fields in claimed if fields is not None]
        if not entries:
            return 0
        deliveries = await self._delivery_counts([e for e, _ in entries])
        fresh = []
        for entry_id, fields in entries:
            n = deliveries.get(entry_id, 1)
            if n > self.max_deliveries:
                reason = self._errors.get(entry_id, "failed on another consumer")
                await self.dead_letter(entry_id, fields, f"gave up after {n - 1} deliveries: {reason}", n - 1)
            else:
                fresh.append((entry_id, fields))
        metrics.RECLAIMED.labels(stage=self.stage).inc(len(entries))
        if fresh:
            await self.handle(fresh, deliveries)
        return len(entries)

    async def _delivery_counts(self, entry_ids: Sequence[str]) -> dict[str, int]:
        first, last = min(entry_ids, key=_id_key), max(entry_ids, key=_id_key)
        rows = await self.redis.xpending_range(
            self.stream, self.group, min=first, max=last, count=len(entry_ids) * 4
        )
        return {self._id(r["message_id"]): int(r["times_delivered"]) for r in rows}

    async def reclaim_forever(
        self, min_idle_ms: int, count: int, on_missing_group: Callable[[], Awaitable[None]]
    ) -> None:
        """Reclaim idle entries until cancelled; recreate the group when Redis lost it."""
        pause = max(min_idle_ms / 4000, 0.05)
        while True:
            try:
                while await self.reclaim_once(min_idle_ms, count):
                    pass
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    await on_missing_group()
                else:
                    log.exception("reclaim failed in %s", self.stage)
            except (ConnectionError, OSError, TimeoutError) as exc:
                log.warning("reclaim in %s cannot reach Redis: %s", self.stage, exc)
            except Exception:
                log.exception("reclaim failed in %s", self.stage)
            await asyncio.sleep(pause)

    @staticmethod
    def _id(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
