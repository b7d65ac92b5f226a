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

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        url = async_url(value)
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must be a SQLite (sqlite:///path) or PostgreSQL (postgresql://...) URL"
            )
        return url
