"""Read a response body within a byte limit, as sent and once decompressed, in bounded memory.

httpx would decompress each network chunk whole: 64 KiB of gzip can inflate to 64 MiB in one call.
Here the raw stream is read and decompressed with an output cap per call (zlib's ``max_length``,
brotli's ``output_buffer_limit``), so no step holds much more than ``_PIECE`` bytes beyond the body
kept, and the read stops as soon as the decoded body passes the limit: a 10 MB gzip that inflates to
10 GB costs about the limit in memory and one network read (64 KiB).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

import brotli  # type: ignore[import-untyped]
import httpx

from services.fetch.errors import BadEncoding, TooLarge

_PIECE = 64 * 1024  # most bytes one decompression step may produce
ACCEPT_ENCODING = "gzip, deflate, br"
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_CODINGS = 2  # "gzip, br" is legal; a longer stack is an attack, not a publisher


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (several members too) or deflate (zlib-wrapped or, as some servers send it, raw)."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._inflate: zlib._Decompress | None = None
        self._ended = False
        self._held = b""

    def _start(self, head: bytes) -> zlib._Decompress:
        if self._coding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        zlib_header = len(head) >= 2 and (head[0] & 0x0F) == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def _after_end(self, data: bytes) -> bytes:
        # Another gzip member may follow the end; other bytes are ignored, as browsers ignore them.
        if self._coding == "gzip" and data.startswith(_GZIP_MAGIC):
            return data
        if self._coding == "gzip" and _GZIP_MAGIC.startswith(data):
            self._held = data  # the magic split between two chunks
        else:
            self._coding = "ignore"
        return b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        data, self._held = self._held + data, b""
        while data:
            if self._inflate is None:
                if self._ended:
                    data = self._after_end(data)
                elif self._coding == "deflate" and len(data) < 2:
                    data, self._held = b"", data  # the header decides zlib or raw: wait for it
                if not data:
                    return
                self._inflate = self._start(data)
            out = self._inflate.decompress(data, _PIECE)
            if out:
                yield out
            data = self._inflate.unconsumed_tail
            while not data and len(out) == _PIECE and not self._inflate.eof:  # more waiting inside
                out = self._inflate.decompress(b"", _PIECE)
                if out:
                    yield out
            if self._inflate.eof:
                data, self._inflate, self._ended = self._inflate.unused_data, None, True


class _Brotli:
    def __init__(self) -> None:
        self._inflate = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate.is_finished():
            return  # bytes after the end: ignored
        out: bytes = self._inflate.process(data, output_buffer_limit=_PIECE)
        # Output that reached the cap may have more behind it, also once all input is taken.
        while out:
            yield out
            if len(out) < _PIECE and self._inflate.can_accept_more_data():
                return
            out = self._inflate.process(b"", output_buffer_limit=_PIECE)


def decoders(content_encoding: str, url: str) -> list[_Decoder]:
    """The decoders of a Content-Encoding, in the order to apply them (the last coding first)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > _MAX_CODINGS:
        raise BadEncoding(url, f"{len(codings)} content codings stacked ({content_encoding})")
    chain: list[_Decoder] = []
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip", "deflate"):
            chain.append(_Zlib("deflate" if coding == "deflate" else "gzip"))
        elif coding == "br":
            chain.append(_Brotli())
        else:
            raise BadEncoding(url, f"content coding {coding!r} was not asked for")
    return chain


def _through(chain: list[_Decoder], data: bytes) -> Iterator[bytes]:
    if not chain:
        yield data
        return
    for piece in chain[0].feed(data):
        yield from _through(chain[1:], piece)


async def read_body(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The decoded body of ``response``; over ``limit`` bytes (sent or decoded), raise TooLarge, or
    with ``truncate`` return the first ``limit`` bytes."""
    url = str(response.request.url)
    announced = response.headers.get("Content-Length", "")
    if not truncate and announced.isdigit() and int(announced) > limit:
        raise TooLarge(url, f"Content-Length {announced} is over the limit of {limit} bytes")
    chain = decoders(response.headers.get("Content-Encoding", ""), url)
    parts: list[bytes] = []
    sent = kept = 0
    try:
        async for chunk in response.aiter_raw():
            sent += len(chunk)
            if sent > limit:  # checked before decoding: a stream may decode to nothing for ever
                if truncate:
                    break
                raise TooLarge(url, f"body is over the limit of {limit} bytes as sent")
            for piece in _through(chain, chunk):
                if kept + len(piece) > limit:
                    if truncate:
                        parts.append(piece[: limit - kept])
                        return b"".join(parts)
                    raise TooLarge(url, f"body is over the limit of {limit} bytes once decompressed")
                parts.append(piece)
                kept += len(piece)
    except (zlib.error, brotli.error) as exc:
        raise BadEncoding(url, f"body does not decompress: {exc}") from None
    return b"".join(parts)
