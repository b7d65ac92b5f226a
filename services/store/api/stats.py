"""Operational figures: what the store holds and how far its consumer groups trail their streams."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.contracts import enriched_stream, overrun_key, raw_stream
from services.runtime.codec import text
from services.runtime.groups import Protected, stream_state
from services.store.api.deps import Connection, State
from services.store.db import aggregates

router = APIRouter(tags=["operations"])


class LanguageCount(BaseModel):
    """Articles in one language (null: not detected)."""

    language: str | None
    articles: int


class SourceCount(BaseModel):
    """Articles from one source (null: no source given)."""

    source: str | None
    articles: int


class ArticleTotals(BaseModel):
    """How many articles the store holds."""

    total: int
    newest_article_at: datetime | None = Field(description="newest published (else received) time")
    by_language: list[LanguageCount]
    by_source: list[SourceCount] = Field(description="the ten biggest sources")


class GroupLag(BaseModel):
    """One consumer group of one stream."""

    stream: str
    group: str
    length: int | None = Field(description="entries in the stream now")
    lag: int | None = Field(description="entries not yet delivered to the group (null: unknown)")
    pending: int | None = Field(description="entries delivered but not yet acknowledged")
    consumers: int | None
    protected: bool = Field(
        default=False, description="a pipeline group or one of PROTECTED_GROUPS: never trimmed past"
    )
    missed: int = Field(
        default=0,
        description="entries trimmed before this (unprotected) group read them, counted by the trims "
        "that removed them; 0 unless overrun",
    )
    error: str | None = Field(description="why figures are missing, e.g. no such stream")


class Stats(BaseModel):
    """Article counts and pipeline backlog."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "articles": {
                        "total": 2225,
                        "newest_article_at": "2024-01-15T08:07:00Z",
                        "by_language": [{"language": "en", "articles": 2225}],
                        "by_source": [{"source": "bbc", "articles": 2225}],
                    },
                    "streams": [
                        {
                            "stream": "news:raw",
                            "group": "enrich",
                            "length": 2300,
                            "lag": 12,
                            "pending": 64,
                            "consumers": 2,
                            "error": None,
                        },
                        {
                            "stream": "news:enriched",
                            "group": "store",
                            "length": 2225,
                            "lag": 0,
                            "pending": 0,
                            "consumers": 1,
                            "error": None,
                        },
                    ],
                }
            ]
        }
    )

    articles: ArticleTotals
    streams: list[GroupLag]


@router.get("/stats", response_model=Stats)
async def stats(store: State, conn: Connection) -> Any:
    """Count stored articles; report every consumer group of both streams: lag, pending, missed."""
    totals = await aggregates.article_totals(conn)
    prefix = store.settings.stream_prefix
    streams: list[GroupLag] = []
    for stream in (raw_stream(prefix), enriched_stream(prefix)):
        streams += await _groups(store.redis, stream, Protected.of(prefix, stream, store.settings.protected))
    return {"articles": totals, "streams": streams}


async def _groups(redis: Redis, stream: str, protected: Protected) -> list[GroupLag]:
    """Every group of ``stream``; a pipeline group that is missing is listed with the reason."""
    empty: dict[str, Any] = {"length": None, "lag": None, "pending": None, "consumers": None}
    try:
        state = await stream_state(redis, stream)
        missed = {text(k): int(v) for k, v in (await redis.hgetall(overrun_key(stream))).items()}
    except (RedisError, OSError) as exc:
        error = f"Redis unreachable: {type(exc).__name__}"
        return [GroupLag(stream=stream, group=g, **empty, error=error) for g in sorted(protected.pipeline)]
    if state is None:
        return [
            GroupLag(stream=stream, group=g, **empty, error="no such stream")
            for g in sorted(protected.pipeline)
        ]
    missing = [
        GroupLag(stream=stream, group=g, **{**empty, "length": state.length}, error="no such consumer group")
        for g in sorted(protected.pipeline - {g.name for g in state.groups})
    ]
    return missing + [
        GroupLag(
            stream=stream,
            group=g.name,
            length=state.length,
            lag=g.lag,
            pending=g.pending,
            consumers=g.consumers,
            protected=g.name in protected,
            missed=missed.get(g.name, 0),
            error=None,
        )
        for g in state.groups
    ]
