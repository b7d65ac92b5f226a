"""Start the feeds process: ``python -m services.ingest.feeds``."""

import asyncio
import logging
import signal
import sys

from services import logs
from services.errors import ConfigurationError
from services.ingest.feeds.app import create_app, running_feeds
from services.ingest.feeds.settings import FeedsSettings
from services.ingest.startup import check_wait_aof
from services.settings import load
from services.web.serve import serve


async def run_headless(settings: FeedsSettings) -> None:
    """Poll and fetch until SIGINT or SIGTERM, then put back what is in hand and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_feeds(settings):
        await stop.wait()


settings = load(FeedsSettings, "feeds")
logs.configure(settings.log_level, "feeds")
logging.getLogger("httpx").setLevel(logging.WARNING)  # each poll logs one line of its own, not each request
try:
    check_wait_aof(settings)
except ConfigurationError as exc:
    print(f"wirestream feeds refuses to start: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
if settings.feeds_port:
    serve(create_app(settings), settings.bind_host, settings.feeds_port, settings.log_level)
else:
    asyncio.run(run_headless(settings))
