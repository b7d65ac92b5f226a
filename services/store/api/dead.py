"""Dead-letter endpoints of the store: list dead entries, replay one into the stage it failed in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from services.contracts import STAGES
from services.runtime import deadletter, ids
from services.store.api.deps import State
from services.web.auth import parse_keys, require_key

_STAGE = f"^({'|'.join(STAGES)})$"


class DeadPage(BaseModel):
    """Dead entries newest first and the cursor of the next page."""

    items: list[deadletter.DeadLetter]
    next_cursor: str | None


class Replayed(BaseModel):
    """Where a replayed entry went."""

    id: str
    replayed_to: str
    new_entry_id: str


def dead_router(write_keys: str) -> APIRouter:
    """Build the /v1/dead routes; replay needs one of ``write_keys`` when any are set."""
    router = APIRouter(prefix="/v1/dead", tags=["dead letters"])

    @router.get("", response_model=DeadPage, responses={400: {"description": "Bad cursor"}})
    async def list_dead(
        store: State,
        stage: Annotated[str | None, Query(pattern=_STAGE)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[
            str | None, Query(pattern=ids.PATTERN, description="next_cursor of the last page")
        ] = None,
    ) -> Any:
        """List dead-lettered entries, newest first, with the stage, the error and the delivery count."""
        prefix = store.settings.stream_prefix
        found = await deadletter.list_dead(
            store.redis, prefix=prefix, stage=stage, limit=limit + 1, before=cursor
        )
        page = found[:limit]
        return {
            "items": page,
            "next_cursor": page[-1].id if len(found) > limit else None,
        }

    @router.post(
        "/{dead_id}/replay",
        response_model=Replayed,
        dependencies=[Depends(require_key(parse_keys(write_keys)))],
        responses={
            400: {"description": "Not a stream entry id"},
            401: {"description": "Missing or invalid API key"},
            404: {"description": "No such entry"},
            409: {"description": "The entry holds nothing to replay"},
        },
    )
    async def replay(dead_id: Annotated[str, Path(pattern=ids.PATTERN)], store: State) -> Any:
        """Re-publish a dead entry to the stream of the stage it failed in, then remove it."""
        prefix = store.settings.stream_prefix
        stream, new_id = await deadletter.replay(store.redis, prefix=prefix, dead_id=dead_id)
        return {"id": dead_id, "replayed_to": stream, "new_entry_id": new_id}

    return router
