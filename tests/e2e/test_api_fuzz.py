"""Property-based API tests: schemathesis drives the real ingest and store processes from their OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import CheckFunction, positive_data_acceptance
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.harness import Pipeline, running


def _serve(name: str, tmp: Path, redis_url: str) -> Iterator[OpenApiSchema]:
    pipeline = Pipeline(redis_url, tmp)
    with running(pipeline, name):
        base = pipeline.ingest if name == "ingest" else pipeline.store
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


@pytest.fixture(scope="module")
def ingest_schema(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[OpenApiSchema]:
    yield from _serve("ingest", tmp_path_factory.mktemp("fuzz-ingest"), redis_url)


@pytest.fixture(scope="module")
def store_schema(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[OpenApiSchema]:
    schema = yield from _serve("store", tmp_path_factory.mktemp("fuzz-store"), redis_url)
    return schema


BOUNDED = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _run(cases: SearchStrategy[schemathesis.Case], excluded: list[CheckFunction]) -> None:
    @given(case=cases)
    @BOUNDED
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(timeout=30, excluded_checks=excluded)

    check()


def _fuzz(
    schema: OpenApiSchema, skip: frozenset[str] = frozenset(), excluded: list[CheckFunction] | None = None
) -> list[str]:
    """Run every operation's generated cases; return the operations exercised."""
    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in skip:
            continue

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            checks = [*(excluded or [])]
            if mode is GenerationMode.NEGATIVE:
                # Invalid requests are sent for what they are answered with: a documented status and no
                # 5xx. Some are served on purpose: a batch rejects bad items one by one, a repeated
                # query parameter counts once, white space around a value does not count towards its length.
                checks.append(negative_data_rejection)
            try:
                _run(operation.as_strategy(mode), checks)
            except Unsatisfiable:  # nothing to get wrong: no parameters and no body
                assert mode is GenerationMode.NEGATIVE, operation.path
        exercised.append(f"{operation.method.upper()} {operation.path}")
    return exercised


def test_ingest_never_fails_and_answers_as_documented(ingest_schema: OpenApiSchema) -> None:
    # A schema cannot say that a title of invisible characters is empty once cleaned, nor that a time
    # leaves years 1-9999 once in UTC: ingest refuses those with a documented 422 naming the field.
    exercised = _fuzz(ingest_schema, excluded=[positive_data_acceptance])
    assert {"POST /v1/articles", "POST /v1/articles/batch"} <= set(exercised)


def test_store_never_fails_and_answers_as_documented(store_schema: OpenApiSchema) -> None:
    # The live feed never ends by design; it has tests of its own.
    # Opaque cursors and ids cannot be generated valid from a schema: a random one is rightly refused.
    exercised = _fuzz(store_schema, skip=frozenset({"/v1/stream"}), excluded=[positive_data_acceptance])
    assert {"GET /v1/articles", "GET /v1/articles/{article_id}"} <= set(exercised)
