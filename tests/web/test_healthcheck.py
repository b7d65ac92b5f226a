"""The containers' health check, run as the engine runs it, against a real HTTP server on loopback."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.tools.local import free_port


@contextmanager
def readyz(status: int) -> Iterator[int]:
    """Serve ``GET /readyz`` with ``status`` on a spare port; yield the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def healthcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.web.healthcheck", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_ready_service_is_healthy() -> None:
    with readyz(200) as port:
        answer = healthcheck(str(port))
    assert (answer.returncode, answer.stderr) == (0, "")


@pytest.mark.parametrize("status", [503, 500])
def test_a_service_that_is_not_ready_is_unhealthy(status: int) -> None:
    with readyz(status) as port:
        answer = healthcheck(str(port))
    assert answer.returncode == 1 and f"/readyz answered {status}" in answer.stderr


def test_nothing_listening_is_unhealthy() -> None:
    answer = healthcheck(str(free_port()))
    assert answer.returncode == 1 and "unreachable" in answer.stderr


def test_a_missing_port_is_a_usage_error() -> None:
    answer = healthcheck()
    assert answer.returncode == 2 and "usage" in answer.stderr
