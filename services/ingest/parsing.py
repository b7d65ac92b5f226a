"""Turn request bodies into validated articles; every failure names the field or the parser's message."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from services.contracts import MAX_URL, ArticleIn, RawArticle, utc_offset
from services.errors import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType
from services.ingest.identity import article_id
from services.ingest.normalize import (
    clean_characters,
    clean_fields,
    clean_url,
    unicode_fields,
    unicode_text,
)
from services.ingest.pages.fields import web_url
from services.ingest.seedformat import parse_plain_text

JSON_TYPES = frozenset({"application/json"})
NDJSON_TYPES = frozenset(
    {"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq"}
)
TEXT_TYPES = frozenset({"text/plain"})


def media_type(content_type: str | None) -> str:
    """Reduce a Content-Type header to its lower-case media type."""
    return (content_type or "").split(";", 1)[0].strip().lower()


# Labels senders use for a wider encoding than Python's codec of that name: the mappings of the WHATWG
# Encoding Standard (https://encoding.spec.whatwg.org/#names-and-labels), which browsers follow.
_WIDER = {
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin1", "l1", "us-ascii", "ascii", "cp819"), "cp1252"),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "windows-31j", "ms_kanji", "x-sjis"), "cp932"),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "chinese", "csgb2312", "gb_2312-80"), "gb18030"),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949", "cseuckr", "korean"), "cp949"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5"), "big5hkscs"),
}


def _c1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # WHATWG's windows-1252 reads the five bytes Windows leaves undefined as the C1 controls of the
    # same value (cleaning drops them later); Python's codec refuses them.
    assert isinstance(exc, UnicodeDecodeError)
    return chr(exc.object[exc.start]), exc.start + 1


codecs.register_error("wirestream-c1", _c1_fallback)


def codec_for(label: str) -> str:
    """Python's codec for a charset label; raise UnsupportedMediaType for a label nobody defines."""
    try:
        return codecs.lookup(_WIDER.get(label, label)).name
    except LookupError as exc:
        raise UnsupportedMediaType(f"unknown charset {label!r} in Content-Type") from exc


def charset(content_type: str | None) -> str | None:
    """Return the ``charset`` parameter of a Content-Type header, lower-case, or None."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"'):
            return value.strip().strip('"').lower()
    return None


# Byte order marks name their encoding (RFC 8259 lets a parser ignore a UTF-8 one); longest first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_JSON = "malformed JSON: the body"
_DECLARE = "declare its encoding, e.g. Content-Type: {kind}; charset=windows-1252"


def decode_body(raw: bytes, content_type: str | None, *, what: str = "body") -> str:
    """Decode a request body by its declared charset, else its byte order mark, else as UTF-8.

    Raises UnsupportedMediaType for a charset Python does not know, BadRequest for bytes the encoding
    cannot read.
    A leading byte order mark is dropped either way.
    """
    kind = media_type(content_type) or "text/plain"
    declared = charset(content_type)
    if declared is not None:
        codec = codec_for(declared)
        try:
            return raw.decode(codec, "wirestream-c1" if codec == "cp1252" else "strict").removeprefix(
                "\ufeff"
            )
        except UnicodeDecodeError as exc:
            raise BadRequest(f"{what} is not valid {declared}: {exc.reason} at byte {exc.start}") from exc
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"{what} is not UTF-8 ({exc.reason} at byte {exc.start}): send UTF-8 or "
            + _DECLARE.format(kind=kind),
        ) from exc


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


def _json_text(raw: bytes, content_type: str | None) -> str | bytes:
    # JSON is UTF-8 (RFC 8259): orjson reads the bytes and names any fault; others are decoded first.
    if charset(content_type) is None and not raw.startswith(tuple(bom for bom, _ in _BOMS)):
        return raw
    return decode_body(raw, content_type, what=_JSON)


def load_json(text: str | bytes) -> Any:
    """Parse JSON or fail with the parser's own message.

    orjson refuses a lone surrogate escape (``"\\ud800"``), which JSON's grammar allows: such a
    document is read by the standard library instead, and normalisation replaces the surrogate.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "surrogate" in str(exc):
            try:
                return json.loads(text)
            except ValueError:
                pass
        hint = ""
        if isinstance(text, bytes) and not _is_utf8(text):
            hint = "; the body is not UTF-8: send UTF-8 or " + _DECLARE.format(kind="application/json")
        raise BadRequest(f"malformed JSON: {exc}{hint}") from exc


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def article_from_fields(fields: Any) -> ArticleIn:
    """Validate a decoded JSON value as an article: as posted, then as cleaned (what a reader sees).

    The request must match the documented schema as sent; the cleaned article must fit the same limits.
    """
    if not isinstance(fields, dict):
        raise Unprocessable(
            [{"loc": ["body"], "msg": "expected a JSON object with title and body", "type": "model_type"}],
        )
    posted = unicode_fields(fields)
    try:
        ArticleIn.model_validate(posted)
        return ArticleIn.model_validate(clean_fields(posted))
    except ValidationError as exc:
        raise Unprocessable(validation_detail(exc)) from exc


def article_from_body(raw: bytes, content_type: str | None) -> ArticleIn:
    """Read one article from a JSON or plain-text request body."""
    kind = media_type(content_type)
    if kind in JSON_TYPES or kind.endswith("+json"):
        return article_from_fields(load_json(_json_text(raw, content_type)))
    if kind in TEXT_TYPES:
        text = clean_characters(decode_body(raw, content_type))
        try:
            return article_from_fields(parse_plain_text(text))
        except ValueError as exc:
            raise Unprocessable([{"loc": ["body"], "msg": f"body: {exc}", "type": "value_error"}]) from exc
    raise UnsupportedMediaType(
        f"unsupported Content-Type {kind or '(none)'!r}: send application/json or text/plain"
    )


def bare_url(fields: Any) -> str | None:
    """The URL of a page posted alone, ``{"url": ...}`` with no other field, cleaned; None for anything
    else. Raises Unprocessable naming ``url`` when it is not an absolute http(s) URL."""
    if not isinstance(fields, dict) or set(fields) != {"url"}:
        return None
    given = fields["url"]
    url = clean_url(unicode_text(given)) if isinstance(given, str) else ""
    if not url or len(url) > MAX_URL or web_url(url, base="") != url:
        problem = "must be an absolute http or https URL" if len(url) <= MAX_URL else "is too long"
        detail = {"loc": ["body", "url"], "msg": f"url: {problem} (a page to fetch)", "type": "value_error"}
        raise Unprocessable([detail])
    return url


def post_from_body(raw: bytes, content_type: str | None) -> ArticleIn | str:
    """One posted article, or the URL of a page posted alone (JSON ``{"url": ...}``) to fetch."""
    kind = media_type(content_type)
    if kind in JSON_TYPES or kind.endswith("+json"):
        fields = load_json(_json_text(raw, content_type))
        url = bare_url(fields)
        return article_from_fields(fields) if url is None else url
    return article_from_body(raw, content_type)


def batch_items(raw: bytes, content_type: str | None, limit: int) -> list[Any]:
    """Split a batch body (JSON array or NDJSON) into decoded items, each left for its own validation."""
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        data = load_json(_json_text(raw, content_type))
        if not isinstance(data, list):
            raise Unprocessable("a JSON batch must be an array of articles")
        items: list[Any] = data
    elif kind in NDJSON_TYPES:
        items = list(_ndjson(decode_body(raw, content_type, what=_JSON)))
    else:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {kind or '(none)'!r}: send application/x-ndjson or a JSON array"
        )
    if len(items) > limit:
        raise PayloadTooLarge(f"batch of {len(items)} articles exceeds the limit of {limit}")
    return items


def _ndjson(text: str) -> Iterator[Any]:
    # Lines end at "\n" alone: other line separators may sit inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removeprefix("\ufeff")  # files joined together each keep their byte order mark
        if not line.strip():
            continue
        try:
            yield load_json(line)
        except BadRequest as exc:
            yield BadRequest(f"line {number}: {exc.detail}")


def to_raw(article: ArticleIn, received_at: datetime | None = None) -> RawArticle:
    """Give an accepted article its deterministic id."""
    aid = article_id(
        title=article.title, body=article.body, published_at=article.published_at, url=article.url
    )
    offset = utc_offset(article.published_at) if article.published_at is not None else None
    return RawArticle(
        **article.model_dump(), id=aid, received_at=received_at or datetime.now(UTC), published_offset=offset
    )
