"""Every real-shaped case of tests/data through ingest's parsing: what is published, or how it is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.errors import RequestError
from services.ingest.parsing import article_from_body, article_from_fields, batch_items, to_raw
from tests.realworld import Case, all_cases, check_error, check_fields


def _publish(case: Case) -> list[dict[str, object]]:
    request = case.request()
    if request.path.endswith("/batch"):
        items = batch_items(request.content, request.content_type, limit=100)
        return [to_raw(article_from_fields(item)).model_dump(mode="json") for item in items]
    article = article_from_body(request.content, request.content_type)
    return [to_raw(article, datetime(2024, 1, 1, tzinfo=UTC)).model_dump(mode="json")]


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: c.id)
def test_each_case_is_published_as_a_reader_sees_it_or_refused_naming_the_field(case: Case) -> None:
    if case.status >= 400:
        with pytest.raises(RequestError) as info:
            _publish(case)
        check_error(case, info.value.status, info.value.detail)
        return
    for article in _publish(case):
        check_fields(case, article)
        for name in ("published_at", "received_at"):
            value = article[name]
            assert value is None or str(value).endswith("Z"), f"{case.id}: {name}={value}"
