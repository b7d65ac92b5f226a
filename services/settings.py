"""Settings every service reads from the environment; each service extends them with its own."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Annotated, TypeVar

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _seconds(value: object) -> object:
    # An environment variable is text: "3600" means seconds, as ISO 8601 "PT1H" does.
    return float(value) if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit() else value


Duration = Annotated[timedelta, BeforeValidator(_seconds)]
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CommonSettings(BaseSettings):
    """Where Redis is, which streams to use and how to log."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis holding the streams")
    stream_prefix: str = Field(default="news", description="streams are <prefix>:raw, :enriched, :dead")
    stream_maxlen: int = Field(
        default=100_000,
        ge=1000,
        description="cap on the entries of <prefix>:raw and <prefix>:enriched, enforced by refusing new work",
    )
    stream_retention: Duration = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        description="how long entries every protected group has acknowledged stay for other readers",
    )
    protected_groups: str = Field(
        default="", description="comma-separated consumer groups that trimming waits for, like the pipeline's"
    )
    dead_retention: Duration = Field(
        default=timedelta(days=30), gt=timedelta(0), description="how long dead letters are kept"
    )
    bind_host: str = Field(default="127.0.0.1", description="interface the HTTP server listens on")
    log_level: str = Field(default="INFO")

    @property
    def protected(self) -> frozenset[str]:
        """The consumer groups of PROTECTED_GROUPS."""
        return frozenset(g.strip() for g in self.protected_groups.split(",") if g.strip())

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

    @model_validator(mode="after")
    def _consistent(self) -> ConsumerSettings:
        # A claim idle time shorter than one blocking read would reclaim entries a live consumer holds.
        if self.claim_idle_ms < self.poll_ms:
            raise ValueError(
                f"CLAIM_IDLE_MS ({self.claim_idle_ms}) is shorter than POLL_MS ({self.poll_ms}): live "
                "consumers' entries would be reclaimed; make CLAIM_IDLE_MS at least POLL_MS"
            )
        if self.batch_size * 10 > self.stream_maxlen:
            raise ValueError(
                f"BATCH_SIZE ({self.batch_size}) is over a tenth of STREAM_MAXLEN ({self.stream_maxlen}): "
                "a stage pauses while its output is within one batch of the cap, and ingest refuses work "
                "at 90% of it"
            )
        return self


S = TypeVar("S", bound=CommonSettings)


def load(kind: type[S], service: str) -> S:
    """Read a service's settings from the environment; refuse to start, naming each problem, if they
    do not hold together (exit status 2)."""
    try:
        return kind()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper() or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        print(f"wirestream {service} refuses to start: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
