"""Start the store service: ``python -m services.store``."""

from services import logs
from services.settings import load
from services.store.app import create_app
from services.store.settings import StoreSettings
from services.web.serve import serve

settings = load(StoreSettings, "store")
logs.configure(settings.log_level, "store")
serve(create_app(settings), settings.bind_host, settings.store_port, settings.log_level)
