"""A small HTTP/1.1 server on loopback for the fetch tests: one request per connection, and a record
of what it saw (connections, requests with their arrival times and headers, body bytes it sent)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Seen:
    """A request as the server saw it."""

    path: str
    headers: dict[str, str]  # names in lower case
    arrived: float  # time.monotonic() when its head was read


@dataclass
class Reply:
    """An answer: a bytes body gets a Content-Length; an async iterator is sent until the connection
    closes, with no length."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | AsyncIterator[bytes] = b""


Handler = Callable[[Seen], Awaitable[Reply]]


class Server:
    """Answers each request with ``handler``; ``routes`` answer fixed paths first."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self._handler = handler
        self.host = host
        self.port = port
        self.tls = tls
        self.connections = 0
        self.seen: list[Seen] = []
        self.sent = 0  # body bytes written
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, path: str = "/") -> str:
        """The URL of ``path`` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def requests(self, path: str) -> list[Seen]:
        """The requests for ``path``, in order."""
        return [s for s in self.seen if s.path == path]

    async def start(self) -> Server:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line, *fields = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields if f)}
            seen = Seen(line.split(" ")[1], headers, time.monotonic())
            self.seen.append(seen)
            answer = self.routes.get(seen.path) or self._handler or _not_found
            reply = answer if isinstance(answer, Reply) else await answer(seen)
            await self._write(writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client went away: what the size and timeout tests do on purpose
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _write(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        headers = {"Connection": "close", **reply.headers}
        if isinstance(reply.body, bytes):
            headers.setdefault("Content-Length", str(len(reply.body)))
        lines = [f"HTTP/1.1 {reply.status} X"] + [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if isinstance(reply.body, bytes):
            writer.write(reply.body)
            self.sent += len(reply.body)
        else:
            await writer.drain()
            async for chunk in reply.body:
                writer.write(chunk)
                self.sent += len(chunk)
                await writer.drain()
        await writer.drain()


async def _not_found(seen: Seen) -> Reply:
    return Reply(404, {"Content-Type": "text/plain"}, b"not found")
