"""Settings of the feeds process, read once from the environment: how it polls, fetches and publishes."""

from __future__ import annotations

from pydantic import Field

from services.fetch.settings import FetchSettings
from services.ingest.settings import PublishSettings
from services.settings import ConsumerSettings


class FeedsSettings(PublishSettings, ConsumerSettings, FetchSettings):
    """The feed poller and the fetch stage: they publish as ingest does (its de-duplication window,
    durability and backpressure), read ``<prefix>:fetch`` as a consumer group, and fetch by the fetch
    settings."""

    feeds_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve /healthz, /readyz and /metrics here"
    )
    feeds_concurrency: int = Field(default=4, ge=1, le=256, description="feeds polled at once by one process")
    pages_concurrency: int = Field(
        default=4, ge=1, le=256, description="pages fetched at once by one process"
    )
