"""Start the ingest service: ``python -m services.ingest``."""

from services import logs
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from services.settings import load
from services.web.serve import serve

settings = load(IngestSettings, "ingest")
logs.configure(settings.log_level, "ingest")
serve(create_app(settings), settings.bind_host, settings.ingest_port, settings.log_level)
