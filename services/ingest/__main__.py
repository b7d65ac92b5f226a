"""Start the ingest service: ``python -m services.ingest``."""

import sys

from services import logs
from services.errors import ConfigurationError
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from services.ingest.startup import check_wait_aof
from services.settings import load
from services.web.serve import serve

settings = load(IngestSettings, "ingest")
logs.configure(settings.log_level, "ingest")
try:
    check_wait_aof(settings)
except ConfigurationError as exc:
    print(f"wirestream ingest refuses to start: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
serve(create_app(settings), settings.bind_host, settings.ingest_port, settings.log_level)
