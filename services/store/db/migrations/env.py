"""Alembic environment: migrate the connection handed in by ``services.store.db.engine``, or DATABASE_URL.

``services.store.db.engine.upgrade`` locks the database, passes its connection as
``config.attributes["connection"]`` and commits. Run through the ``alembic`` command instead, this
module takes the same lock on a connection of its own.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from services.store.db.tables import metadata

config = context.config


def run_on(connection: Connection) -> None:
    """Run the pending revisions inside the caller's transaction."""
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    """Connect, lock and migrate; used when the ``alembic`` command runs this module."""
    from services.store.db.engine import create_engine, locked

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await locked(conn)
            await conn.run_sync(run_on)
            await conn.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    from services.store.settings import StoreSettings

    return config.get_main_option("sqlalchemy.url") or StoreSettings().database_url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (handed_in := config.attributes.get("connection")) is not None:
    run_on(handed_in)
else:
    asyncio.run(run_from_url(_url()))
