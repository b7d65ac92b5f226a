"""Run an ASGI app with uvicorn the same way in every service."""

from __future__ import annotations

import signal
import sys

import uvicorn
from fastapi import FastAPI


def _exit_cleanly(signum: int, _frame: object) -> None:
    sys.exit(0)


def serve(app: FastAPI, host: str, port: int, log_level: str) -> None:
    """Serve until SIGINT/SIGTERM; finish in-flight requests, run the lifespan's shutdown, exit 0."""
    # uvicorn drains, then re-raises the signal it caught: with these handlers that ends in exit code 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
        log_config=None,  # uvicorn's own lines go through the services' one log format
    )
