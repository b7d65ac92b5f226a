"""What the stored articles are about: entities, topics and tags with their article counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.contracts import EntityType
from services.store.api.deps import Connection
from services.store.api.params import PageSize, Time
from services.store.db import aggregates

router = APIRouter(tags=["catalog"])

Prefix = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=300,
        description="case-insensitive prefix, for autocomplete",
        examples=["gor"],
    ),
]
Since = Annotated[
    Time | None,
    Query(
        description="count only articles published (else received) at or after this time",
        examples=["2024-01-01T00:00:00Z"],
    ),
]


def _example(item: dict[str, Any]) -> ConfigDict:
    """An answer of one item, shown in the API documentation."""
    return ConfigDict(json_schema_extra={"examples": [{"items": [item]}]})


class EntityCount(BaseModel):
    """An entity and how many articles mention it."""

    name: str
    type: EntityType
    articles: int = Field(description="articles that mention it")


class EntityList(BaseModel):
    """Entities, most mentioned first."""

    model_config = _example({"name": "Gordon Brown", "type": "PERSON", "articles": 412})
    items: list[EntityCount]


class TopicCount(BaseModel):
    """An IPTC Media Topic and how many articles are filed under it or a topic below it."""

    code: str
    label: str
    articles: int


class TopicList(BaseModel):
    """Topics, biggest first."""

    model_config = _example({"code": "medtop:11000000", "label": "politics", "articles": 918})
    items: list[TopicCount]


class TagCount(BaseModel):
    """A tag and how many articles carry it."""

    name: str
    articles: int


class TagList(BaseModel):
    """Tags, most used first."""

    model_config = _example({"name": "Politics", "articles": 730})
    items: list[TagCount]


@router.get("/entities", response_model=EntityList)
async def list_entities(
    conn: Connection,
    limit: PageSize,
    type: Annotated[EntityType | None, Query(description="only entities of this type")] = None,
    q: Prefix = None,
    since: Since = None,
) -> Any:
    """List the entities mentioned in most articles."""
    return {
        "items": await aggregates.top_entities(conn, entity_type=type, prefix=q, since=since, limit=limit)
    }


@router.get("/topics", response_model=TopicList)
async def list_topics(conn: Connection, limit: PageSize, q: Prefix = None, since: Since = None) -> Any:
    """List the topics with most articles; a topic counts the articles of every topic below it too."""
    return {"items": await aggregates.top_topics(conn, prefix=q, since=since, limit=limit)}


@router.get("/tags", response_model=TagList)
async def list_tags(conn: Connection, limit: PageSize, q: Prefix = None, since: Since = None) -> Any:
    """List the tags carried by most articles."""
    return {"items": await aggregates.top_tags(conn, prefix=q, since=since, limit=limit)}
