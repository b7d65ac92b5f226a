"""A fetch against real loopback servers: conditional GET, decompression, media types, statuses,
Retry-After and redirects."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import brotli  # type: ignore[import-untyped]
import pytest

from services.fetch import (
    BadContentType,
    BadEncoding,
    HTTPStatusError,
    RefusedURL,
    RetryLater,
    TooManyRedirects,
    Validator,
)
from services.fetch.errors import TransientError
from tests.fetch.conftest import Open, Serve
from tests.fetch.server import Reply, Seen

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>' * 50
FEED_TYPES = ["application/rss+xml", "application/xml", "text/xml"]
MODIFIED = "Mon, 15 Jan 2024 08:00:00 GMT"


async def test_the_validator_is_sent_and_a_304_comes_back_as_not_modified(
    serve: Serve, open_fetcher: Open
) -> None:
    async def feed(seen: Seen) -> Reply:
        if seen.headers.get("if-none-match") == '"v1"':
            return Reply(304, {"ETag": '"v1"'}, b"")
        return Reply(
            200, {"Content-Type": "application/rss+xml", "ETag": '"v1"', "Last-Modified": MODIFIED}, FEED
        )

    server = await serve(feed)
    fetcher = open_fetcher()
    first = await fetcher.fetch(server.url("/feed"), accept=FEED_TYPES)
    assert (first.status, first.content, first.not_modified) == (200, FEED, False)
    assert first.validator == Validator(etag='"v1"', last_modified=MODIFIED)

    again = await fetcher.fetch(server.url("/feed"), validator=first.validator, accept=FEED_TYPES)
    assert again.not_modified
    assert again.content == b""
    assert again.validator == first.validator  # the 304 repeated the ETag only; Last-Modified is kept
    sent = server.requests("/feed")[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == MODIFIED
    assert sent["accept"] == "application/rss+xml, application/xml, text/xml"
    assert sent["user-agent"] == "WirestreamTest/1.0"
    assert "if-none-match" not in server.requests("/feed")[0].headers


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", gzip.compress(FEED)),
        ("gzip", gzip.compress(FEED[:1000]) + gzip.compress(FEED[1000:])),  # two members
        ("deflate", zlib.compress(FEED)),
        ("deflate", zlib.compress(FEED, wbits=-15)),  # raw deflate, as some servers send it
        ("br", brotli.compress(FEED)),
        ("gzip, br", brotli.compress(gzip.compress(FEED))),
        ("identity", FEED),
    ],
    ids=["gzip", "gzip-members", "deflate", "raw-deflate", "br", "gzip-then-br", "identity"],
)
async def test_compressed_bodies_are_decoded(
    serve: Serve, open_fetcher: Open, coding: str, body: bytes
) -> None:
    server = await serve()
    server.routes["/feed"] = Reply(200, {"Content-Type": "text/xml", "Content-Encoding": coding}, body)
    result = await open_fetcher().fetch(server.url("/feed"))
    assert result.content == FEED
    assert server.requests("/feed")[0].headers["accept-encoding"] == "gzip, deflate, br"


async def test_a_coding_not_asked_for_or_a_corrupt_body_is_refused(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/zstd"] = Reply(200, {"Content-Encoding": "zstd"}, b"(\xb5/\xfd")
    server.routes["/corrupt"] = Reply(200, {"Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00garbage" * 10)
    fetcher = open_fetcher()
    with pytest.raises(BadEncoding, match="content coding 'zstd' was not asked for"):
        await fetcher.fetch(server.url("/zstd"))
    with pytest.raises(BadEncoding, match="body does not decompress"):
        await fetcher.fetch(server.url("/corrupt"))


async def test_the_media_type_must_be_one_the_caller_accepts(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/page"] = Reply(200, {"Content-Type": "text/html; charset=ISO-8859-1"}, b"<html></html>")
    server.routes["/image"] = Reply(200, {"Content-Type": "image/png"}, b"\x89PNG" * 100_000)
    fetcher = open_fetcher()
    with pytest.raises(BadContentType, match=r"content type 'text/html' is not one of application/rss\+xml"):
        await fetcher.fetch(server.url("/page"), accept=FEED_TYPES)
    page = await fetcher.fetch(server.url("/page"), accept=["text/*"])
    assert (page.content_type, page.charset) == ("text/html", "iso-8859-1")
    with pytest.raises(BadContentType, match="image/png") as raised:
        await fetcher.fetch(server.url("/image"), accept=["text/html", "application/xhtml+xml"])
    assert raised.value.content_type == "image/png"


async def test_429_and_503_give_their_retry_after_and_are_transient(serve: Serve, open_fetcher: Open) -> None:
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    server = await serve()
    server.routes["/busy"] = Reply(429, {"Retry-After": "30"}, b"slow down")
    server.routes["/down"] = Reply(503, {"Retry-After": format_datetime(later, usegmt=True)}, b"")
    server.routes["/broken"] = Reply(500, {}, b"")
    fetcher = open_fetcher()

    with pytest.raises(RetryLater, match=r"retry_later: HTTP 429, retry after 30 s") as busy:
        await fetcher.fetch(server.url("/busy"))
    assert (busy.value.status, busy.value.retry_after) == (429, 30.0)
    assert isinstance(busy.value, TransientError)

    with pytest.raises(RetryLater) as down:
        await fetcher.fetch(server.url("/down"))
    assert down.value.status == 503
    assert down.value.retry_after is not None
    assert 100 < down.value.retry_after <= 120

    with pytest.raises(RetryLater) as broken:
        await fetcher.fetch(server.url("/broken"))
    assert (broken.value.status, broken.value.retry_after) == (500, None)


async def test_a_4xx_is_an_http_status_error_that_is_not_transient(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/gone"] = Reply(410, {}, b"")
    with pytest.raises(HTTPStatusError, match=r"http_status: HTTP 410 \(http://127.0.0.1:\d+/gone\)") as gone:
        await open_fetcher().fetch(server.url("/gone"))
    assert gone.value.status == 410
    assert not isinstance(gone.value, TransientError)


def _redirect(status: int, location: str) -> Reply:
    return Reply(status, {"Location": location}, b"")


async def test_a_run_of_permanent_redirects_is_reported_as_a_move(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/old"] = _redirect(301, "/older-still")
    server.routes["/older-still"] = _redirect(308, server.url("/new"))
    server.routes["/new"] = _redirect(302, "/today")  # temporary: the new URL stays the one to store
    server.routes["/today"] = Reply(200, {"Content-Type": "text/xml"}, FEED)
    result = await open_fetcher().fetch(server.url("/old"))
    assert result.content == FEED
    assert result.url == server.url("/today")
    assert result.redirects == (server.url("/older-still"), server.url("/new"), server.url("/today"))
    assert result.moved_permanently
    assert result.permanent_url == server.url("/new")


async def test_a_temporary_redirect_first_means_no_move(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/a"] = _redirect(307, "/b")
    server.routes["/b"] = _redirect(301, "/c")
    server.routes["/c"] = Reply(200, {}, b"ok")
    result = await open_fetcher().fetch(server.url("/a"))
    assert (result.content, result.permanent_url, result.moved_permanently) == (b"ok", None, False)


async def test_five_redirects_are_followed_and_a_sixth_is_refused(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    for n in range(6):
        server.routes[f"/r{n}"] = _redirect(302, f"/r{n + 1}")
    server.routes["/r6"] = Reply(200, {}, b"end")
    fetcher = open_fetcher()
    assert (await fetcher.fetch(server.url("/r1"))).content == b"end"  # r1 -> r6: five redirects
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        await fetcher.fetch(server.url("/r0"))
    assert len(server.requests("/r5")) == 2  # the sixth redirect's target was never asked for
    assert len(server.requests("/r6")) == 1


async def test_a_redirect_loop_is_refused_when_it_comes_round(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/ping"] = _redirect(301, "/pong")
    server.routes["/pong"] = _redirect(302, "/ping")
    with pytest.raises(TooManyRedirects, match=r"redirect loop: http://127.0.0.1:\d+/ping again"):
        await open_fetcher().fetch(server.url("/ping"))
    assert [s.path for s in server.seen if s.path != "/robots.txt"] == ["/ping", "/pong"]


async def test_only_http_and_https_are_fetched_also_after_a_redirect(
    serve: Serve, open_fetcher: Open
) -> None:
    server = await serve()
    server.routes["/to-file"] = _redirect(302, "file:///etc/passwd")
    fetcher = open_fetcher()
    for url in ("file:///etc/passwd", "ftp://example.com/feed", "gopher://example.com/", "http:///nohost"):
        with pytest.raises(RefusedURL):
            await fetcher.fetch(url)
    with pytest.raises(RefusedURL, match="redirect to 'file:///etc/passwd' is not an http or https URL"):
        await fetcher.fetch(server.url("/to-file"))


async def test_no_cookie_is_kept_from_one_fetch_to_the_next(serve: Serve, open_fetcher: Open) -> None:
    server = await serve()
    server.routes["/set"] = Reply(200, {"Set-Cookie": "session=secret; Path=/"}, b"")
    server.routes["/next"] = Reply(200, {}, b"")
    fetcher = open_fetcher()
    await fetcher.fetch(server.url("/set"))
    await fetcher.fetch(server.url("/next"))
    assert "cookie" not in server.requests("/next")[0].headers
