"""Start an enrich worker: ``python -m services.enrich``."""

import asyncio
import signal

from services import logs
from services.enrich.app import create_app, running_worker
from services.enrich.settings import EnrichSettings
from services.settings import load
from services.web.serve import serve


async def run_headless(settings: EnrichSettings) -> None:
    """Consume until SIGINT or SIGTERM, then finish the batch in flight and exit."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_worker(settings):
        await stop.wait()


settings = load(EnrichSettings, "enrich")
logs.configure(settings.log_level, "enrich")
if settings.enrich_port:
    serve(create_app(settings), settings.bind_host, settings.enrich_port, settings.log_level)
else:
    asyncio.run(run_headless(settings))
