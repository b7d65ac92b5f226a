"""A news publisher on loopback for the feed tests: feeds and article pages served by a real HTTP server,
and a record of every request it saw (path, headers, when)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Seen:
    """A request as the publisher saw it."""

    path: str
    headers: dict[str, str]  # names in lower case
    at: float  # time.monotonic()


@dataclass(frozen=True)
class Reply:
    """An answer: status, Content-Type, body and any other headers."""

    status: int = 200
    content_type: str = "text/plain"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Seen], Reply]


@dataclass
class Publisher:
    """Answers each path by its route (404 for others); ``base`` is its URL once started."""

    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def requests(self, path: str) -> list[Seen]:
        """The requests for ``path`` (the query aside), in order."""
        return [s for s in list(self.seen) if s.path.split("?")[0] == path]

    def answer(self, seen: Seen) -> Reply:
        self.seen.append(seen)
        route = self.routes.get(seen.path.split("?")[0])
        return route(seen) if route else Reply(404, body="not found")


def fixed(reply: Reply) -> Route:
    """A route that always gives ``reply``."""
    return lambda _seen: reply


@contextmanager
def serving(publisher: Publisher) -> Iterator[Publisher]:
    """Serve ``publisher`` on 127.0.0.1 on a free port until the context exits."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = publisher.answer(Seen(self.path, headers, time.monotonic()))
            data = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if reply.status != 304:
                self.wfile.write(data)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a poller stopped mid-request resets its connection; nothing to report

    server = Server(("127.0.0.1", 0), Handler)
    publisher.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield publisher
    finally:
        server.shutdown()
        server.server_close()
