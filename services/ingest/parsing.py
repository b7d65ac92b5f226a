"""Turn request bodies into validated articles; every failure names the field or the parser's message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from services.contracts import ArticleIn, RawArticle
from services.ingest.identity import article_id
from services.ingest.seedformat import parse_plain_text

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"}
)
TEXT_TYPES = frozenset({"text/plain"})


class BadInput(ValueError):
    """A request body that cannot become an article; ``status`` is the HTTP answer."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


def media_type(content_type: str | None) -> str:
    """Reduce a Content-Type header to its lower-case media type."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """Report each problem with the field it concerns, as FastAPI does."""
    return [
        {
            "loc": ["body", *err["loc"]],
            "msg": f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}",
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def load_json(raw: bytes) -> Any:
    """Parse JSON or fail with the parser's own message."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(400, f"malformed JSON: {exc}") from exc


def article_from_fields(fields: Any) -> ArticleIn:
    """Validate a decoded JSON value as an article."""
    if not isinstance(fields, dict):
        raise BadInput(
            422,
            [{"loc": ["body"], "msg": "expected a JSON object with title and body", "type": "model_type"}],
        )
    try:
        return ArticleIn.model_validate(fields)
    except ValidationError as exc:
        raise BadInput(422, validation_detail(exc)) from exc


def article_from_body(raw: bytes, content_type: str | None) -> ArticleIn:
    """Read one article from a JSON or plain-text request body."""
    kind = media_type(content_type)
    if kind in JSON_TYPES or kind.endswith("+json"):
        return article_from_fields(load_json(raw))
    if kind in TEXT_TYPES:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadInput(400, f"text/plain body is not UTF-8: {exc}") from exc
        try:
            return article_from_fields(parse_plain_text(text))
        except ValueError as exc:
            if isinstance(exc, BadInput):
                raise
            raise BadInput(422, [{"loc": ["body"], "msg": f"body: {exc}", "type": "value_error"}]) from exc
    raise BadInput(415, f"unsupported Content-Type {kind or '(none)'!r}: send application/json or text/plain")


def batch_items(raw: bytes, content_type: str | None, limit: int) -> list[Any]:
    """Split a batch body (JSON array or NDJSON) into decoded items, each left for its own validation."""
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        data = load_json(raw)
        if not isinstance(data, list):
            raise BadInput(422, "a JSON batch must be an array of articles")
        items: list[Any] = data
    elif kind in NDJSON_TYPES:
        items = list(_ndjson(raw))
    else:
        raise BadInput(
            415, f"unsupported Content-Type {kind or '(none)'!r}: send application/x-ndjson or a JSON array"
        )
    if len(items) > limit:
        raise BadInput(413, f"batch of {len(items)} articles exceeds the limit of {limit}")
    return items


def _ndjson(raw: bytes) -> Iterator[Any]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield BadInput(400, f"line {number}: malformed JSON: {exc}")


def to_raw(article: ArticleIn, received_at: datetime | None = None) -> RawArticle:
    """Give an accepted article its deterministic id."""
    aid = article_id(
        title=article.title, body=article.body, published_at=article.published_at, url=article.url
    )
    return RawArticle(**article.model_dump(), id=aid, received_at=received_at or datetime.now(UTC))
