"""Workers die or are stopped mid-stream: every accepted article is still stored exactly once."""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

from redis import Redis

from services.contracts import ENRICH_GROUP, STORE_GROUP, dead_stream, enriched_stream, raw_stream
from tests.chaos.conftest import articles, pending, xlen
from tests.harness import ROOT, Pipeline, wait_for


def _pending_of(pipeline: Pipeline, consumer: str) -> int:
    with Redis.from_url(pipeline.redis_url) as client:
        summary = client.xpending(raw_stream(pipeline.prefix), ENRICH_GROUP)
    return sum(int(c["pending"]) for c in summary["consumers"] if c["name"] in (consumer, consumer.encode()))


def test_kill_9_of_one_of_two_enrich_workers_loses_and_doubles_nothing(
    pipeline: Pipeline, report: dict[str, Any]
) -> None:
    pipeline.start("store")
    survivor = pipeline.start("enrich")
    victim = pipeline.start("enrich")
    pipeline.start("ingest")
    ids = pipeline.post(articles("kill9", 1000))
    assert len(set(ids)) == 1000

    # Kill while the victim holds entries it read but has not acknowledged.
    victim_name = f"{socket.gethostname()}-{victim.proc.pid}"
    held = wait_for(
        lambda: _pending_of(pipeline, victim_name),
        timeout=120,
        interval=0.02,
        what="the victim to hold pending entries",
    )
    victim.signal(signal.SIGKILL)
    stored_at_kill = len(pipeline.stored_ids())
    recovery_s = pipeline.wait_stored(ids, timeout=240)

    listed = pipeline.listed_ids("kill9")
    assert len(listed) == len(set(listed)) == 1000
    assert set(listed) == set(ids)
    assert xlen(pipeline.redis_url, dead_stream(pipeline.prefix)) == 0
    wait_for(
        lambda: pending(pipeline.redis_url, raw_stream(pipeline.prefix), ENRICH_GROUP) == 0,
        timeout=30,
        what="the enrich group's pending list to drain",
    )
    assert survivor.proc.poll() is None
    report.update(
        test="kill -9 one of two enrich workers",
        sent=1000,
        stored=len(set(listed)),
        victim_pending_at_kill=held,
        listed_twice=len(listed) - len(set(listed)),
        dead=0,
        stored_at_kill=stored_at_kill,
        enriched_entries=xlen(pipeline.redis_url, enriched_stream(pipeline.prefix)),
        seconds_from_kill_to_all_stored=round(recovery_s, 1),
    )


def test_sigterm_during_a_batch_finishes_it_and_exits_cleanly(
    pipeline: Pipeline, report: dict[str, Any]
) -> None:
    pipeline.start("store")
    worker = pipeline.start("enrich")
    pipeline.start("ingest")
    ids = pipeline.post(articles("sigterm", 400))
    wait_for(lambda: len(pipeline.stored_ids()) >= 20, timeout=120, what="the first articles stored")

    began = time.monotonic()
    code = worker.stop(timeout=45)
    stop_s = time.monotonic() - began
    assert code == 0, worker.log()[-2000:]
    # Nothing it read is left half-done: what it took, it finished and acknowledged.
    assert pending(pipeline.redis_url, raw_stream(pipeline.prefix), ENRICH_GROUP) == 0

    pipeline.start("enrich")
    pipeline.wait_stored(ids, timeout=240)
    enriched = xlen(pipeline.redis_url, enriched_stream(pipeline.prefix))
    assert enriched <= 400 + 32, f"{enriched - 400} articles were enriched twice: more than one batch"
    assert sorted(pipeline.listed_ids("sigterm")) == sorted(set(ids))
    assert xlen(pipeline.redis_url, dead_stream(pipeline.prefix)) == 0
    report.update(
        test="SIGTERM during a batch",
        sent=400,
        stored=len(set(ids)),
        dead=0,
        enriched_twice=enriched - 400,
        seconds_to_exit=round(stop_s, 1),
        exit_code=code,
    )


def test_poison_entries_are_dead_lettered_and_the_rest_flows(
    pipeline: Pipeline, report: dict[str, Any]
) -> None:
    pipeline.start("store")
    pipeline.start("enrich", PYTHONPATH=str(ROOT / "tests" / "chaos" / "faults"))
    pipeline.start("ingest")
    raw = raw_stream(pipeline.prefix)
    with_garbage = [
        {"__data__": "this is {not json"},
        {"data": '{"title": 42}'},
        {"__data__": '{"title": "no body, no id"}'},
    ]
    client = Redis.from_url(pipeline.redis_url)
    for fields in with_garbage:
        client.xadd(raw, fields)
    pill = pipeline.post(
        [{"title": "POISON-PILL article", "body": "It makes enrichment raise.", "source": "poison"}]
    )
    healthy = pipeline.post(articles("poison", 50))
    pipeline.wait_stored(healthy, timeout=180)

    dead = dead_stream(pipeline.prefix)
    wait_for(lambda: xlen(pipeline.redis_url, dead) >= 4, timeout=120, what="four dead entries")
    entries = client.xrange(dead)
    reasons = [fields[b"error"].decode() for _id, fields in entries]
    assert sum("malformed" in r for r in reasons) == 3, reasons
    [gave_up] = [r for r in reasons if "gave up" in r]
    assert "POISON-PILL" in gave_up
    assert pill[0] not in pipeline.stored_ids()
    assert pending(pipeline.redis_url, enriched_stream(pipeline.prefix), STORE_GROUP) == 0
    assert pending(pipeline.redis_url, raw, ENRICH_GROUP) == 0
    report.update(
        test="poison entries",
        garbage=3,
        raising_articles=1,
        healthy=50,
        healthy_stored=50,
        dead=len(entries),
        reasons=[r[:80] for r in reasons],
    )
    client.close()
