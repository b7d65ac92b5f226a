"""Real-world input through the running pipeline, on SQLite and PostgreSQL: every 202 ends stored as a
reader would see it, everything else is refused with a 4xx naming the problem, nothing is dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from redis import Redis
from schemathesis.generation.modes import GenerationMode

from services.contracts import ArticleIn, PageRequest, dead_stream, fetch_stream
from services.runtime import codec
from tests.harness import Pipeline, running
from tests.realworld import Case, all_cases, check_enriched, check_error, check_fields
from tests.store.conftest import ENGINES, create_database, database_url, drop_database, pg_or_skip


@pytest.fixture(scope="module", params=ENGINES)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[Pipeline]:
    """The three services on each engine in turn, with a prefix and a database of their own."""
    tmp = tmp_path_factory.mktemp(f"realworld-{request.param}")
    if request.param == "sqlite":
        with running(Pipeline(redis_url, tmp)) as stack:
            yield stack
        return
    pg_or_skip()
    name = create_database()
    try:
        with running(Pipeline(redis_url, tmp, database_url(name))) as stack:
            yield stack
    finally:
        drop_database(name)


def _post(stack: Pipeline, case: Case) -> httpx.Response:
    request = case.request()
    return httpx.post(
        stack.ingest + request.path,
        content=request.content,
        headers={"Content-Type": request.content_type},
        timeout=30,
    )


def _search(stack: Pipeline, q: str) -> list[str]:
    answer = httpx.get(f"{stack.store}/v1/articles", params={"q": q, "limit": 100}, timeout=10)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def _dead(stack: Pipeline) -> int:
    with Redis.from_url(stack.redis_url) as redis:
        return int(redis.xlen(dead_stream(stack.prefix)))


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_each_case_is_stored_as_a_reader_sees_it_or_refused_with_a_4xx(stack: Pipeline, case: Case) -> None:
    answer = _post(stack, case)
    if case.status >= 400:
        check_error(case, answer.status_code, answer.json()["detail"])
        return
    assert answer.status_code == case.status, answer.text
    ids = [i["id"] for i in answer.json()["items"]] if "items" in answer.json() else [answer.json()["id"]]
    for article_id in ids:
        article = stack.wait_article(article_id)
        check_fields(case, article)
        check_enriched(case, article, lambda q: _search(stack, q))
        for name in ("received_at", "enriched_at", "published_at"):
            assert article[name] is None or article[name].endswith("Z"), f"{case.id}: {name}={article[name]}"
    assert _dead(stack) == 0


def _articles(stack: Pipeline) -> Any:
    """Requests generated from ingest's OpenAPI: the contract's JSON Schema, and the plain-text form."""
    schema = schemathesis.openapi.from_url(f"{stack.ingest}/openapi.json")
    operation = schema["/v1/articles"]["POST"]
    return operation.as_strategy(GenerationMode.POSITIVE)


def _queued_page(stack: Pipeline, article_id: str) -> PageRequest | None:
    """The page request for ``article_id`` on ``<prefix>:fetch``, if ingest queued one."""
    with Redis.from_url(stack.redis_url) as redis:
        for _, fields in redis.xrange(fetch_stream(stack.prefix)):
            request = codec.decode(fields, PageRequest).body
            if request.id == article_id:
                return request
    return None


def test_every_article_the_schema_allows_is_stored_when_accepted(stack: Pipeline) -> None:
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=_articles(stack))
    def post_then_find(case: schemathesis.Case) -> None:
        answer = case.call(timeout=30)
        assert answer.status_code in (200, 202, 422), answer.text
        if answer.status_code == 422:  # refused after normalisation, naming the field
            named = {problem["msg"].split(":")[0].split(".")[0] for problem in answer.json()["detail"]}
            assert named <= set(ArticleIn.model_fields) | {"url"}, answer.text
            return
        article_id = answer.json()["id"]
        if isinstance(case.body, dict) and "title" not in case.body:
            # A URL alone: the 202 promises the page is queued for the fetch stage under this id (what
            # that stage makes of a page is tests/e2e/test_feeds.py's); no stage here fetches it.
            if answer.status_code == 202:
                assert _queued_page(stack, article_id) is not None, answer.text
            return
        stack.wait_article(article_id, timeout=60)

    post_then_find()
    assert _dead(stack) == 0
