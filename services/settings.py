"""Settings every service reads from the environment; each service extends them with its own."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CommonSettings(BaseSettings):
    """Where Redis is, which streams to use and how to log."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis holding the streams")
    stream_prefix: str = Field(default="news", description="streams are <prefix>:raw, :enriched, :dead")
    stream_maxlen: int = Field(default=100_000, ge=1000, description="approximate MAXLEN of every stream")
    bind_host: str = Field(default="127.0.0.1", description="interface the HTTP server listens on")
    log_level: str = Field(default="INFO")

    @field_validator("stream_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if not _PREFIX_RE.match(value):
            raise ValueError("STREAM_PREFIX must be 1-64 characters of letters, digits, '_', '.', '-'")
        return value


class ConsumerSettings(CommonSettings):
    """How a consuming service reads its consumer group."""

    batch_size: int = Field(default=64, ge=1, le=1000, description="entries read per XREADGROUP")
    poll_ms: int = Field(default=1000, ge=10, description="XREADGROUP block time")
    claim_idle_ms: int = Field(
        default=30_000, ge=100, description="idle time before a pending entry is reclaimed"
    )
    max_deliveries: int = Field(default=5, ge=1, description="deliveries before an entry is dead-lettered")
    consumer_name: str | None = Field(default=None, description="defaults to <hostname>-<pid>")
