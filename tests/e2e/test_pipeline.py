"""The three services as real processes: post the seed over HTTP, read it back from the API and the stream."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.harness import ROOT, Pipeline, running, wait_for

SEED = ROOT / "seeds" / "000_dccf1c9c5e5a1b50.txt"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Pipeline]:
    """Start store, enrich and ingest against a real Redis and a SQLite file of their own."""
    with running(Pipeline(redis_url, tmp_path_factory.mktemp("e2e"))) as stack:
        yield stack


def _stored(stack: Pipeline, article_id: str) -> dict[str, Any] | None:
    return stack.article(article_id)


def _post_seed(stack: Pipeline) -> httpx.Response:
    return httpx.post(
        f"{stack.ingest}/v1/articles",
        content=SEED.read_bytes(),
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )


def test_seed_flows_from_http_to_store_enriched(stack: Pipeline) -> None:
    first = _post_seed(stack)
    assert first.status_code == 202, first.text
    article_id = first.json()["id"]

    article = wait_for(lambda: _stored(stack, article_id), timeout=60, what="the seed in the store")

    assert article["title"] == "Russia-North Korea Relations Deepen Amid Alleged Missile Usage in Ukraine"
    assert article["author"] == "BNN Correspondents"
    assert article["published_at"].startswith("2024-01-15T08:07:00")
    by_type: dict[str, set[str]] = {}
    for entity in article["entities"]:
        by_type.setdefault(entity["type"], set()).add(entity["name"])
        for mention in entity["mentions"]:
            assert article["body"][mention["start"] : mention["end"]] == mention["text"]
    assert {"Sergey Lavrov", "Maria Zakharova", "John Kirby", "Vladimir Putin"} <= by_type["PERSON"]
    assert {"Moscow", "Pyongyang"} <= by_type["LOCATION"]
    assert {"International Relations", "North Korea", "Russia"} <= set(article["tags"])
    assert "Gurbaksh Chahal" not in article["body"]

    again = _post_seed(stack)
    assert again.status_code == 200
    assert again.json() == {"id": article_id, "status": "duplicate"}

    for params in ({"entity": "Sergey Lavrov"}, {"tag": "North Korea"}):
        page = httpx.get(f"{stack.store}/v1/articles", params=params, timeout=5).json()
        assert article_id in [item["id"] for item in page["items"]], params
    unrelated = httpx.get(f"{stack.store}/v1/articles", params={"entity": "Nobody Atall"}, timeout=5).json()
    assert unrelated == {"items": [], "next_cursor": None}


def test_readme_redis_py_consumer_reads_the_enriched_stream(stack: Pipeline) -> None:
    article_id = _post_seed(stack).json()["id"]
    wait_for(lambda: _stored(stack, article_id), timeout=60, what="the seed in the store")
    env = {"REDIS_URL": stack.env["REDIS_URL"], "STREAM_PREFIX": stack.env["STREAM_PREFIX"], "PATH": ""}
    consumer = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "consume.py")], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert consumer.stdout is not None
        line = consumer.stdout.readline()  # blocks until the example prints its first entry
    finally:
        consumer.kill()
        consumer.wait()
    assert line.startswith(f"{article_id} Russia-North Korea Relations"), line
    assert "Sergey Lavrov" in line or "Russia" in line


def test_unknown_article_is_404_with_a_message(stack: Pipeline) -> None:
    answer = httpx.get(f"{stack.store}/v1/articles/doesnotexist", timeout=5)
    assert answer.status_code == 404
    assert "doesnotexist" in answer.json()["detail"]


def test_examples_folder_is_what_the_readme_shows() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / "examples" / "consume.py").read_text()
    body = "\n".join(line for line in example.splitlines() if not line.startswith('"""'))
    assert body.strip() in readme, "README's redis-py consumer differs from examples/consume.py"
