"""One logging set-up for every service: one line per event, key facts first."""

from __future__ import annotations

import logging
import sys


def configure(level: str, service: str) -> None:
    """Send logs to stderr with time, service, level and logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
