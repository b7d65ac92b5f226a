"""Wirestream on a real Redis Cluster: detected from one node's URL, one hash slot per prefix, the whole
pipeline through a master's failover, and ingest's 202 waiting for a replica when asked."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from services.contracts import ENRICH_GROUP, STORE_GROUP, dead_stream, dedup_key, enriched_stream, raw_stream
from services.ingest.settings import IngestSettings
from services.runtime.connection import keyspace, on_keyspace, open_redis
from services.settings import CommonSettings
from tests.cluster.conftest import Cluster
from tests.factories import article_fields
from tests.harness import ROOT, Pipeline, wait_for
from tests.ingest.test_api import running

SEED = ROOT / "seeds" / "000_dccf1c9c5e5a1b50.txt"
JSON = {"Content-Type": "application/json"}


async def test_a_cluster_is_detected_from_one_node_and_a_prefix_keeps_to_one_slot(
    cluster: Cluster, redis_url: str
) -> None:
    single = await open_redis(redis_url)
    clustered = await open_redis(cluster.url)
    try:
        assert not isinstance(single, RedisCluster)
        assert isinstance(clustered, RedisCluster)
        assert len(clustered.get_primaries()) == 3  # discovered from the one node named
        assert on_keyspace(CommonSettings(stream_prefix="news"), single).stream_prefix == "news"
        prefix = on_keyspace(CommonSettings(stream_prefix="news"), clustered).stream_prefix
    finally:
        await single.aclose()
        await clustered.aclose()
    assert prefix == keyspace("news", cluster=True) == "{news}"
    names = [raw_stream(prefix), enriched_stream(prefix), dead_stream(prefix)]
    names += [dedup_key(prefix, period, bucket) for period in (0, 1) for bucket in range(64)]
    assert {key_slot(name.encode()) for name in names} == {key_slot(b"news")}


def _batch(pipeline: Pipeline, tag: str, count: int) -> list[str]:
    """Post ``count`` articles in one batch, retrying while the cluster fails over; return their ids."""
    items = [
        {"title": f"Cluster {tag} {i}", "body": f"Ministers met in Vienna on Monday about item {i} of {tag}."}
        for i in range(count)
    ]
    body = b"\n".join(orjson.dumps(item) for item in items)

    def accepted() -> list[str] | None:
        try:
            answer = httpx.post(
                f"{pipeline.ingest}/v1/articles/batch",
                content=body,
                headers={"Content-Type": "application/x-ndjson"},
                timeout=30,
            )
        except httpx.HTTPError:
            return None
        if answer.status_code != 200:
            assert answer.status_code == 503, answer.text  # Redis unavailable for a moment, nothing else
            return None
        return [item["id"] for item in answer.json()["items"]]

    ids = wait_for(accepted, timeout=60, interval=1, what=f"batch {tag} accepted")
    assert len(set(ids)) == count
    return ids


def _settled(cluster: Cluster, prefix: str) -> dict[str, int]:
    """Pending entries of both groups and dead letters, read through the cluster."""
    with cluster.client() as client:
        return {
            "enrich pending": int(client.xpending(raw_stream(prefix), ENRICH_GROUP)["pending"]),
            "store pending": int(client.xpending(enriched_stream(prefix), STORE_GROUP)["pending"]),
            "dead": int(client.xlen(dead_stream(prefix))),
        }


def test_the_pipeline_runs_on_the_cluster_and_loses_nothing_when_a_master_fails(
    cluster: Cluster, tmp_path: Path
) -> None:
    pipeline = Pipeline(cluster.url, tmp_path, settings={"CLAIM_IDLE_MS": "3000"})
    tagged = keyspace(pipeline.prefix, cluster=True)
    try:
        pipeline.start_all()
        seed = httpx.post(
            f"{pipeline.ingest}/v1/articles",
            content=SEED.read_bytes(),
            headers={"Content-Type": "text/plain"},
            timeout=10,
        )
        assert seed.status_code == 202, seed.text
        first = [seed.json()["id"], *_batch(pipeline, "before", 150)]
        pipeline.wait_stored(first, timeout=180)
        article = pipeline.wait_article(first[0])
        assert {"Sergey Lavrov", "Vladimir Putin"} <= {e["name"] for e in article["entities"]}
        with cluster.client() as client:
            assert client.exists(raw_stream(tagged), enriched_stream(tagged)) == 2
            assert client.exists(raw_stream(pipeline.prefix), enriched_stream(pipeline.prefix)) == 0

        victim = cluster.master_of(raw_stream(tagged))
        heir = cluster.replica_of(victim)
        cluster.kill(victim)
        cluster.wait_master(heir)
        wait_for(lambda: cluster.master_of(raw_stream(tagged)) == heir, timeout=30, what="the slot map")

        second = _batch(pipeline, "after", 100)
        pipeline.wait_stored(first + second, timeout=180)
        wait_for(
            lambda: _settled(cluster, tagged) == {"enrich pending": 0, "store pending": 0, "dead": 0},
            timeout=60,
            what="nothing pending and nothing dead",
        )
    finally:
        codes = pipeline.stop_all()
    assert set(codes.values()) == {0}, codes


async def test_ingest_answers_202_only_once_a_replica_has_the_article(cluster: Cluster) -> None:
    prefix = f"wstest-{uuid.uuid4().hex[:10]}"
    settings = IngestSettings(
        redis_url=cluster.url,
        stream_prefix=prefix,
        max_raw_lag=0,
        ingest_wait_replicas=1,
        ingest_wait_replicas_timeout_ms=500,
    )
    stream = raw_stream(keyspace(prefix, cluster=True))
    async with running(settings) as client:
        kept = await client.post("/v1/articles", content=orjson.dumps(article_fields()), headers=JSON)
        assert kept.status_code == 202, kept.text

        master = cluster.master_of(stream)
        cluster.kill(cluster.replica_of(master))
        began = time.monotonic()
        unconfirmed = await client.post(
            "/v1/articles", content=orjson.dumps(article_fields(title="Unconfirmed")), headers=JSON
        )
        waited = time.monotonic() - began
    assert unconfirmed.status_code == 503
    assert "0 of 1 replicas acknowledged it within 500 ms" in unconfirmed.json()["detail"]
    assert "INGEST_WAIT_REPLICAS" in unconfirmed.json()["detail"]
    assert unconfirmed.headers["Retry-After"] == "1"
    assert waited >= 0.5  # it waited for the replica, then gave up
    node = Redis(port=master)
    try:
        assert await node.xlen(stream) == 2  # published all the same: a re-post is a duplicate
    finally:
        await node.aclose()
