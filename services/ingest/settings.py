"""Ingest settings, read once from the environment."""

from __future__ import annotations

from pydantic import Field

from services.settings import CommonSettings


class IngestSettings(CommonSettings):
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
    max_raw_lag: int = Field(default=50_000, ge=0, description="503 while enrichment lags this far; 0 = off")
