"""A consuming stage at run time: read new entries in batches, reclaim idle ones, recover, stop cleanly.

The worker owns its reads (XREADGROUP with a bounded COUNT, so a backlog is never pulled into the
pending list at once) and hands each batch to the stage runner, which decodes it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services import metrics
from services.contracts import Stage, dead_stream
from services.errors import TransientError, classify
from services.runtime.codec import text
from services.runtime.groups import Protected, ensure_group
from services.runtime.reclaim import reclaim_once
from services.runtime.retention import Retention, trim_forever
from services.runtime.runner import Item, StageRunner, always_healthy
from services.settings import ConsumerSettings

log = logging.getLogger(__name__)
Gate = Callable[[], Awaitable[bool]]
# At stop, a batch in hand gets this long to finish. One stuck on a dependency that hangs (a database
# whose host name no longer resolves) is then abandoned: it was never acknowledged, so it stays pending
# and another replica reclaims it.
STOP_GRACE_S = 5.0


async def always_room() -> bool:
    """Let a stage whose output is not capped read whenever there is work."""
    return True


def consumer_name(configured: str | None = None) -> str:
    """Name this replica uniquely and stably within its consumer group."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


class StageWorker:
    """Run one consuming stage: a task reads new entries in batches, a task reclaims idle ones."""

    def __init__(
        self, runner: StageRunner[Any], settings: ConsumerSettings, *, gate: Gate = always_room
    ) -> None:
        self.runner = runner
        self.settings = settings
        self.gate = gate
        self.retention = Retention(
            runner.redis,
            runner.stream,
            Protected.of(settings.stream_prefix, runner.stream, settings.protected),
            settings.stream_retention,
            settings.stream_maxlen,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._waiting = False  # blocked in XREADGROUP, holding no entry

    @property
    def redis(self) -> Redis:
        return self.runner.redis

    async def start(self) -> None:
        """Create the group if needed, then start reading and reclaiming."""
        await ensure_group(self.redis, self.runner.stream, self.runner.group)
        self._stopping.clear()
        stage, prefix = self.runner.stage, self.settings.stream_prefix
        self._tasks = [
            asyncio.create_task(self._read_forever(), name=f"read-{stage}"),
            asyncio.create_task(self._reclaim_forever(), name=f"reclaim-{stage}"),
            asyncio.create_task(
                trim_forever(
                    self.retention,
                    self._stopping,
                    dead=dead_stream(prefix),
                    dead_retention=self.settings.dead_retention,
                ),
                name=f"trim-{stage}",
            ),
        ]

    async def read_once(self) -> int:
        """Read and handle one batch of new entries; return how many there were."""
        self._waiting = True
        try:
            answer = await self.redis.xreadgroup(
                self.runner.group,
                self.runner.consumer,
                {self.runner.stream: ">"},
                count=self.settings.batch_size,
                block=self.settings.poll_ms,
            )
        finally:
            self._waiting = False
        streams = cast(list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]], answer or [])
        entries = [(text(entry_id), fields) for _, rows in streams for entry_id, fields in rows]
        if entries:
            await self.runner.handle(entries)
        return len(entries)

    async def _read_forever(self) -> None:
        paused = False
        while not self._stopping.is_set():
            try:
                if not await self.gate():  # the output has no room: read nothing until it has
                    if not paused:
                        log.warning("%s pauses: its output stream is at its cap", self.runner.stage)
                    paused = True
                    metrics.PAUSED.labels(stage=self.runner.stage).set(1)
                    await self._rest(min(self.settings.poll_ms / 1000, 0.5))
                    continue
                if paused:
                    log.warning("%s resumes: its output stream has room again", self.runner.stage)
                    paused = False
                    metrics.PAUSED.labels(stage=self.runner.stage).set(0)
                await self.read_once()
            except Exception as exc:
                await self._survive(exc, "reading")

    async def _rest(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _reclaim_forever(self) -> None:
        idle = self.settings.claim_idle_ms
        pause = min(max(idle / 4000, 0.05), 2.0)
        while not self._stopping.is_set():
            try:
                while not self._stopping.is_set() and await reclaim_once(
                    self.runner, idle, self.settings.batch_size
                ):
                    pass
            except Exception as exc:
                await self._survive(exc, "reclaiming")
            await self._rest(pause)

    async def _survive(self, exc: Exception, doing: str) -> None:
        """Recover from what stopped a read or a reclaim: a lost group, a dependency down, a bug."""
        try:
            if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                await self.recover_group()
                return
            if isinstance(classify(exc), TransientError):
                log.warning("%s in %s waits for a dependency: %s", doing, self.runner.stage, exc)
            else:
                log.exception("%s failed in %s", doing, self.runner.stage)
        except Exception:
            log.exception("recovering the %s consumer group failed; retrying", self.runner.stage)
        await self._rest(self.runner.transient_pause_s)

    async def recover_group(self) -> None:
        """Recreate a consumer group that Redis lost (restarted without persistence)."""
        async with self._lock:
            if await ensure_group(self.redis, self.runner.stream, self.runner.group):
                metrics.GROUP_RECREATED.labels(stage=self.runner.stage).inc()
                log.error(
                    "consumer group %s on %s was lost (Redis restarted without persistence?); recreated it",
                    self.runner.group,
                    self.runner.stream,
                )

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop reading; a batch in hand gets ``grace_s`` seconds to finish and be acknowledged, then is
        left pending; a blocked read is abandoned at once."""
        self._stopping.set()
        if self._tasks and self._waiting:
            self._tasks[0].cancel()  # the reader: nothing in hand, no need to wait out its block
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_s)
            for task in late:
                log.warning(
                    "%s stops with a batch in hand after %g s; it stays pending", self.runner.stage, grace_s
                )
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


def stage_worker(
    settings: ConsumerSettings,
    stage: Stage,
    *,
    redis: Redis,
    process: Callable[[Sequence[Item[Any]]], Awaitable[None]],
    healthy: Callable[[], Awaitable[bool]] = always_healthy,
    gate: Gate = always_room,
) -> StageWorker:
    """Wire a stage to its input stream, its consumer group and the shared dead-letter stream."""
    runner = StageRunner(
        redis=redis,
        stream=stage.reads(settings.stream_prefix),
        group=stage.group,
        consumer=consumer_name(settings.consumer_name),
        dead_stream=dead_stream(settings.stream_prefix),
        stage=stage.name,
        model=stage.model,
        process=process,
        max_deliveries=settings.max_deliveries,
        healthy=healthy,
    )
    return StageWorker(runner, settings, gate=gate)
