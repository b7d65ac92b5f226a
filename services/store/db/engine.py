"""Database engines for SQLite and PostgreSQL behind one code path, and schema migration."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the schema stores created before migrations existed
# Any 64-bit number; replicas that start together queue on it, so only one of them migrates.
MIGRATION_LOCK = 0x5753_4D49_4752
BUSY_TIMEOUT_MS = 10_000
MIGRATION_WAIT_MS = 600_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while the consumer writes; busy_timeout rides out short write locks, and
    # comes first because switching to WAL itself needs a moment of exclusive access.
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Switching a new file to WAL answers "database is locked" at once, without waiting, while another
    # connection switches it: wait here instead (WAL then stays in the file).
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    for pragma in ("synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine; for SQLite, create the file's folder and set the pragmas."""
    parsed = make_url(url)
    json = {"json_serializer": _json, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **json)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **json)


def alembic_config(url: str | None = None) -> Config:
    """Build the Alembic configuration in code; no ini file is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def locked(conn: AsyncConnection) -> None:
    """Open the migration transaction holding the database's migration lock until it ends."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    else:
        # A write lock from the first statement: a second migrator waits here instead of racing.
        await conn.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
        await conn.exec_driver_sql("BEGIN IMMEDIATE")


def _run(sync_conn: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_conn
    tables = sa.inspect(sync_conn)
    if tables.has_table("articles") and not tables.has_table("alembic_version"):
        command.stamp(config, BASELINE)  # created by the store before it migrated: adopt, do not recreate
    if action == "downgrade":
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)


async def _locked_run(engine: AsyncEngine, action: str, revision: str) -> None:
    async with engine.connect() as conn:
        await locked(conn)
        try:
            await conn.run_sync(_run, action, revision)
            await conn.commit()
        finally:
            if conn.dialect.name == "sqlite":
                await conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` in one transaction that holds the migration lock."""
    await _locked_run(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Take the schema back to ``revision`` (``base`` drops everything), under the same lock."""
    await _locked_run(engine, "downgrade", revision)


async def migrate(url: str) -> None:
    """Migrate the database at ``url`` to the newest schema; safe to run from several processes at once."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def migrate_sync(url: str) -> None:
    """Run ``migrate`` from synchronous code, such as a command line."""
    asyncio.run(migrate(url))
