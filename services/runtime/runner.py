"""The stage runner: where an entry is decoded, processed, acknowledged or dead-lettered.

Each entry ends in one of three ways (see services/errors.py):
- processed: its effect is durable (the next XADD, or the database commit), then it is acknowledged;
- poison: it cannot be read, the stage raised PoisonMessage, or it failed ``max_deliveries`` times:
  it is copied to the dead-letter stream with the stage, the error and the delivery count, then
  acknowledged;
- failed: it stays pending, with its error kept in Redis, and is reclaimed once idle (reclaim.py);
  a TransientError (a dependency down) never counts towards ``max_deliveries``.

A stage that settles each entry of a batch on its own raises PartialFailure naming the entries that
failed: those end as if they had failed alone, the others are acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services import metrics
from services.contracts import failures_key
from services.errors import MalformedEntry, PartialFailure, PoisonMessage, TransientError, classify
from services.runtime import codec
from services.runtime.deadletter import DeadLetter

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Fields = Mapping[bytes, bytes]
TRANSIENT_MARK = "transient: "


@dataclass(frozen=True, slots=True)
class Item(Generic[M]):
    """A decoded entry: its stream id, its article, and how often it was delivered (1 the first time)."""

    entry_id: str
    value: M
    deliveries: int = 1


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
    healthy: Callable[[], Awaitable[bool]] = always_healthy
    transient_pause_s: float = 1.0

    @property
    def failures(self) -> str:
        """The hash of each pending entry's last error, shared by the replicas of the group."""
        return failures_key(self.stream, self.group)

    async def handle(self, entries: Sequence[tuple[str, Fields]], deliveries: Mapping[str, int] = {}) -> None:
        """Run one batch of (entry id, fields): acknowledge what is done, dead-letter what never will be."""
        items: list[Item[M]] = []
        fields_of = dict(entries)
        for entry_id, fields in entries:
            try:
                body = codec.decode(fields, self.model).body
                items.append(Item(entry_id, body, deliveries.get(entry_id, 1)))
            except MalformedEntry as exc:
                await self.dead_letter(entry_id, fields, f"malformed: {exc}", deliveries.get(entry_id, 1))
        if not items:
            return
        try:
            await self.process(items)
        except PartialFailure as partial:
            await self._settle(items, partial, fields_of, deliveries)
            return
        except Exception as exc:  # the tree decides; see services/errors.py
            error = classify(exc)
            if isinstance(error, TransientError) or len(items) == 1:
                await self._failed(items, error, fields_of, deliveries)
                return
            # One bad article must not hold back the rest: retry one by one to isolate it.
            log.warning("batch of %d failed in %s (%s); retrying one by one", len(items), self.stage, exc)
            for item in items:
                try:
                    await self.process([item])
                except Exception as single:
                    await self._failed([item], classify(single), fields_of, deliveries)
                else:
                    await self.ack([item.entry_id])
            return
        await self.ack([i.entry_id for i in items])

    async def _settle(
        self,
        items: Sequence[Item[M]],
        partial: PartialFailure,
        fields_of: Mapping[str, Fields],
        deliveries: Mapping[str, int],
    ) -> None:
        """Acknowledge what the stage finished; each failed entry ends as it would have alone."""
        await self.ack([i.entry_id for i in items if i.entry_id not in partial.errors])
        paused = False
        for item in items:
            if (error := partial.errors.get(item.entry_id)) is None:
                continue
            error = classify(error)
            if isinstance(error, PoisonMessage):
                await self._failed([item], error, fields_of, deliveries)
            else:  # one pause for the batch, not one per entry of an unreachable dependency
                await self.record_failures([item.entry_id], error, pause=False)
                paused = paused or isinstance(error, TransientError)
        if paused:
            await asyncio.sleep(self.transient_pause_s)

    async def _failed(
        self,
        items: Sequence[Item[M]],
        error: BaseException,
        fields_of: Mapping[str, Fields],
        deliveries: Mapping[str, int],
    ) -> None:
        if isinstance(error, PoisonMessage):
            for item in items:
                reason = f"poison: {type(error).__name__}: {error}"
                await self.dead_letter(
                    item.entry_id, fields_of[item.entry_id], reason, deliveries.get(item.entry_id, 1)
                )
            return
        await self.record_failures([i.entry_id for i in items], error)

    async def record_failures(
        self, entry_ids: Sequence[str], error: BaseException, *, pause: bool = True
    ) -> None:
        """Leave entries pending with their error kept for the replica that reclaims them; after a
        transient error, ``pause`` before going on."""
        transient = isinstance(error, TransientError)
        message = f"{TRANSIENT_MARK if transient else ''}{type(error).__name__}: {error}"[:2000]
        kind = "transient" if transient else "entry"
        metrics.FAILURES.labels(stage=self.stage, kind=kind).inc(len(entry_ids))
        log.warning("%d entries left pending in %s: %s", len(entry_ids), self.stage, message)
        try:
            await self.redis.hset(self.failures, mapping=dict.fromkeys(entry_ids, message))
        except RedisError:
            log.warning("could not record the failure of %s in Redis", self.stage)
        if transient and pause:
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
        record = DeadLetter.of(
            stage=self.stage, stream=self.stream, entry_id=entry_id, error=error, deliveries=deliveries
        )
        await self.redis.xadd(self.dead_stream, record.fields(fields))  # type: ignore[arg-type]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.hdel(self.failures, entry_id)
            await pipe.execute()
        metrics.DEAD.labels(stage=self.stage).inc()
        log.error("entry %s dead-lettered from %s: %s", entry_id, self.stage, record.error)
