"""Typed dependencies of the store's routes: what the app built at start, and a database connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.store.feed.hub import FeedHub
from services.store.settings import StoreSettings


@dataclass(frozen=True)
class StoreState:
    """What the store's lifespan built: settings, the database engine, Redis and the live feed hub."""

    settings: StoreSettings
    engine: AsyncEngine
    redis: Redis
    feed_hub: FeedHub


def _state(request: Request) -> StoreState:
    state: StoreState = request.app.state.store
    return state


State = Annotated[StoreState, Depends(_state)]


async def _connection(store: State) -> AsyncIterator[AsyncConnection]:
    async with store.engine.connect() as conn:
        yield conn


Connection = Annotated[AsyncConnection, Depends(_connection)]
