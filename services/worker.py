"""Attach a StageRunner to a FastStream broker: group set-up, batch reads, reclaim, recovery, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisBatchStreamMessage
from redis.asyncio import Redis

from services import metrics
from services.broker import consumer_name
from services.contracts import dead_stream, stage_input
from services.settings import ConsumerSettings
from services.streams import Item, M, StageRunner, always_healthy, ensure_group

log = logging.getLogger(__name__)


class StageWorker:
    """Run one consuming stage: FastStream reads new entries in batches, a task reclaims idle ones."""

    def __init__(self, broker: RedisBroker, runner: StageRunner[Any], settings: ConsumerSettings) -> None:
        self.broker = broker
        self.runner = runner
        self.settings = settings
        self._reclaim: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.subscriber = broker.subscriber(
            stream=StreamSub(
                runner.stream,
                group=runner.group,
                consumer=runner.consumer,
                batch=True,
                max_records=settings.batch_size,
                polling_interval=settings.poll_ms,
            ),
            ack_policy=AckPolicy.MANUAL,
            title=f"{runner.stream}:{runner.group}",
            description=f"Consumer group `{runner.group}` reading `{runner.stream}` in batches.",
        )

        @self.subscriber
        async def on_batch(body: list[Any], msg: RedisBatchStreamMessage) -> None:
            raw = msg.raw_message
            ids = [i.decode() if isinstance(i, bytes) else str(i) for i in raw["message_ids"]]
            await self.runner.handle(list(zip(ids, raw["data"], strict=True)))

    @property
    def redis(self) -> Redis:
        return self.runner.redis

    async def start(self) -> None:
        """Create the group if needed, start reading, and start the reclaim loop."""
        await ensure_group(self.redis, self.runner.stream, self.runner.group)
        await self.broker.start()
        self._reclaim = asyncio.create_task(
            self.runner.reclaim_forever(
                self.settings.claim_idle_ms, self.settings.batch_size, on_missing_group=self.recover_group
            ),
            name=f"reclaim-{self.runner.stage}",
        )

    async def recover_group(self) -> None:
        """Recreate a consumer group that Redis lost and restart reading."""
        async with self._lock:
            created = await ensure_group(self.redis, self.runner.stream, self.runner.group)
            if created:
                metrics.GROUP_RECREATED.labels(stage=self.runner.stage).inc()
                log.error(
                    "consumer group %s on %s was lost (Redis restarted without persistence?); recreated it",
                    self.runner.group,
                    self.runner.stream,
                )
            if not self.subscriber.running:
                await self.subscriber.start()
                log.error("restarted the %s subscriber after the group was lost", self.runner.stage)

    async def stop(self) -> None:
        """Stop reading, let the in-flight batch finish and be acknowledged, then close."""
        if self._reclaim is not None:
            self._reclaim.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reclaim
        await self.broker.stop()


def stage_worker(
    settings: ConsumerSettings,
    *,
    broker: RedisBroker,
    redis: Redis,
    stage: str,
    group: str,
    model: type[M],
    process: Callable[[Sequence[Item[M]]], Awaitable[None]],
    healthy: Callable[[], Awaitable[bool]] = always_healthy,
) -> StageWorker:
    """Wire a stage to its input stream, its consumer group and the shared dead-letter stream."""
    runner = StageRunner(
        redis=redis,
        stream=stage_input(settings.stream_prefix, stage),
        group=group,
        consumer=consumer_name(settings.consumer_name),
        dead_stream=dead_stream(settings.stream_prefix),
        stage=stage,
        model=model,
        process=process,
        max_deliveries=settings.max_deliveries,
        dead_maxlen=settings.stream_maxlen,
        healthy=healthy,
    )
    return StageWorker(broker, runner, settings)
