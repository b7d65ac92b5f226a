"""The store's dead-letter endpoints and read keys, against a real Redis and a SQLite file."""

from __future__ import annotations

from redis.asyncio import Redis

from services.contracts import dead_stream, enriched_stream
from tests.factories import enriched_article, enriched_entry
from tests.store.test_api import Store, eventually, running, settings_for
from tests.store.test_api import store as store  # the fixture, used by name


async def _dead_entry(store: Store) -> str:
    """Let the store's own consumer dead-letter a malformed entry; return its id in the dead stream."""
    await store.add({"__data__": "{broken"})

    async def dead_id() -> str | None:
        rows = await store.redis.xrange(dead_stream(store.prefix))
        return rows[0][0].decode() if rows else None

    return await eventually(dead_id, what="the malformed entry in the dead stream")


async def test_dead_entries_are_listed_and_replayed_with_a_write_key(
    redis_url: str, prefix: str, sqlite_url: str, redis: Redis
) -> None:
    settings = settings_for(redis_url, prefix, sqlite_url, ingest_api_keys="writer")
    async with running(settings, redis) as store:
        dead_id = await _dead_entry(store)
        listing = (await store.client.get("/v1/dead", params={"stage": "store"})).json()
        [item] = listing["items"]
        assert item["id"] == dead_id
        assert item["stage"] == "store"
        assert item["error"].startswith("malformed: not JSON")
        assert item["original"] == {"__data__": "{broken"}
        assert listing["next_cursor"] is None
        assert (await store.client.get("/v1/dead", params={"stage": "enrich"})).json()["items"] == []

        refused = await store.client.post(f"/v1/dead/{dead_id}/replay")
        assert refused.status_code == 401
        replayed = await store.client.post(
            f"/v1/dead/{dead_id}/replay", headers={"Authorization": "Bearer writer"}
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["replayed_to"] == enriched_stream(prefix)
        # Replayed into its stage, the still-broken entry dies again: a new dead entry, the old one gone.
        again = await eventually(
            lambda: _other_dead(store, dead_id), what="the replayed entry to be dead-lettered again"
        )
        assert again != dead_id
        gone = await store.client.post(
            f"/v1/dead/{dead_id}/replay", headers={"Authorization": "Bearer writer"}
        )
        assert gone.status_code == 404
        assert dead_id in gone.json()["detail"]


async def _other_dead(store: Store, old: str) -> str | None:
    rows = await store.redis.xrange(dead_stream(store.prefix))
    ids = [r[0].decode() for r in rows]
    return ids[0] if ids and old not in ids else None


async def test_bad_dead_parameters_are_422(store: Store) -> None:
    assert (await store.client.get("/v1/dead", params={"stage": "nowhere"})).status_code == 422
    assert (await store.client.get("/v1/dead", params={"cursor": "yesterday"})).status_code == 422
    assert (await store.client.post("/v1/dead/not-an-id/replay")).status_code == 422


async def test_read_keys_protect_reads_but_not_health(
    redis_url: str, prefix: str, sqlite_url: str, redis: Redis
) -> None:
    settings = settings_for(redis_url, prefix, sqlite_url, read_api_keys="reader")
    async with running(settings, redis) as store:
        article = enriched_article()
        await store.add(enriched_entry(article))
        assert (await store.client.get(f"/v1/articles/{article.id}")).status_code == 401
        assert (await store.client.get("/v1/articles")).status_code == 401
        assert (await store.client.get("/healthz")).status_code == 200
        reader = {"Authorization": "Bearer reader"}

        async def visible() -> bool:
            return (await store.client.get(f"/v1/articles/{article.id}", headers=reader)).status_code == 200

        assert await eventually(visible, what="the article readable with the key")
