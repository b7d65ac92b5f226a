"""Store settings, read once from the environment."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.settings import ConsumerSettings


def async_url(url: str) -> str:
    """Pick the async driver for the URL forms users write (postgresql://, postgres://, sqlite:///)."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class StoreSettings(ConsumerSettings):
    """Database, HTTP port and query limits of the store."""

    database_url: str = Field(default="sqlite+aiosqlite:///./var/wirestream.db", description="SQLAlchemy URL")
    store_port: int = Field(default=8002, ge=0, le=65535)
    max_page_size: int = Field(default=100, ge=1, le=1000)
    migrate_on_start: bool = Field(
        default=True, description="apply pending schema migrations on start (off: run `wirestream migrate`)"
    )
    ingest_api_keys: str = Field(default="", description="keys allowed to replay dead entries; empty = open")
    read_api_keys: str = Field(default="", description="keys required on every read; empty = open reads")
    feed_heartbeat_s: float = Field(default=15.0, gt=0, description="idle seconds between feed heartbeats")
    feed_max_clients: int = Field(default=100, ge=1, description="most live feeds open at once")
    feed_queue_size: int = Field(
        default=1000, ge=1, description="events queued per feed before it is dropped"
    )

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        url = async_url(value)
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must be a SQLite (sqlite:///path) or PostgreSQL (postgresql://...) URL"
            )
        return url
