"""Ingest settings, read once from the environment."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator, model_validator

from services.ingest.dedup import DEFAULT_BUCKETS, DEFAULT_WINDOW
from services.ingest.publisher import Durability
from services.settings import CommonSettings, Duration


class PublishSettings(CommonSettings):
    """How articles are published to the raw stream, by ingest and by the feeds process alike: the
    de-duplication window, what a publish waits for, and when the pipeline is too far behind."""

    max_raw_lag: int | None = Field(
        default=None,
        ge=0,
        description="503 while enrichment is this many articles behind; unset: half of STREAM_MAXLEN; 0: "
        "only at STREAM_MAXLEN",
    )

    dedup_window: Duration = Field(
        default=DEFAULT_WINDOW,
        description="a re-post within this long of the first post is a duplicate; after twice as long it "
        "is published again (the store keeps one article per id)",
    )
    dedup_buckets: int = Field(
        default=DEFAULT_BUCKETS,
        ge=1,
        le=1 << 20,
        description="sets per period of the window; keep articles per window under 300 per bucket",
    )
    ingest_wait_aof: bool = Field(
        default=False,
        description="answer 202 only once Redis fsynced the article to its append-only file (WAITAOF, "
        "Redis 7.2+), else 503",
    )
    ingest_wait_aof_timeout_ms: int = Field(
        default=1000, gt=0, description="how long one request waits for that fsync"
    )
    ingest_wait_replicas: int = Field(
        default=0,
        ge=0,
        le=16,
        description="answer 202 only once this many Redis replicas acknowledged the article (WAIT), else "
        "503; 0 answers once the master has it",
    )
    ingest_wait_replicas_timeout_ms: int = Field(
        default=1000, gt=0, description="how long one request waits for those replicas"
    )

    @property
    def durability(self) -> Durability:
        """What each publish waits for, from INGEST_WAIT_AOF and INGEST_WAIT_REPLICAS."""
        return Durability(
            aof_ms=self.ingest_wait_aof_timeout_ms if self.ingest_wait_aof else None,
            replicas=self.ingest_wait_replicas,
            replicas_ms=self.ingest_wait_replicas_timeout_ms,
        )

    @field_validator("dedup_window")
    @classmethod
    def _sensible_window(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError(
                f"must be at least one second (got {value.total_seconds():g} s): it is how long a re-post "
                "is recognised as a duplicate"
            )
        return value

    @property
    def raw_lag_limit(self) -> int:
        """Articles enrichment may be behind before ingest refuses new ones."""
        if self.max_raw_lag is None:
            return self.stream_maxlen // 2
        return self.max_raw_lag or self.stream_maxlen

    @model_validator(mode="after")
    def _lag_within_cap(self) -> PublishSettings:
        if self.max_raw_lag is not None and self.max_raw_lag > self.stream_maxlen:
            raise ValueError(
                f"MAX_RAW_LAG ({self.max_raw_lag}) is above STREAM_MAXLEN ({self.stream_maxlen}): the raw "
                "stream would reach its cap first; make MAX_RAW_LAG at most STREAM_MAXLEN"
            )
        return self


class IngestSettings(PublishSettings):
    """HTTP front door: port and request limits."""

    ingest_port: int = Field(default=8001, ge=0, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="largest request body accepted")
    max_batch_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="largest batch body accepted")
    max_batch_items: int = Field(default=1000, ge=1, description="largest batch accepted")
    ingest_api_keys: str = Field(
        default="", description="comma-separated keys required on writes; empty = open"
    )
    rate_limit_per_s: float = Field(default=0.0, ge=0, description="requests per second per client; 0 = off")
    rate_limit_burst: int = Field(default=20, ge=1, description="requests a client may burst above the rate")
