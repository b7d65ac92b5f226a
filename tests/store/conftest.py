"""Databases for store tests: a migrated SQLite file, and a PostgreSQL database of the test's own.

PostgreSQL is ``TEST_POSTGRES_URL`` (default: the local server, user postgres). Each test gets a fresh
database copied from a migrated template and dropped afterwards. Without a server the PostgreSQL cases
are skipped, except under ``CI=true``, where a missing server fails them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.store.app import create_app
from services.store.db.engine import create_engine, migrate
from services.store.settings import StoreSettings
from tests.harness import in_process

PG_SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ENGINES = ["sqlite", "postgresql"]
T = TypeVar("T")


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def database_url(name: str) -> str:
    """Return the SQLAlchemy URL of database ``name`` on the test server."""
    base, _, _ = PG_SERVER.rpartition("/")
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"


async def admin(sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    conn = await asyncpg.connect(PG_SERVER, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database(template: str | None = None) -> str:
    """Create an empty database (or a copy of ``template``) and return its name."""
    name = f"wstest_{uuid.uuid4().hex[:12]}"
    run_async(lambda: admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return name


def drop_database(name: str) -> None:
    """Drop a test database, closing whatever still connects to it."""
    run_async(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server URL, once it answers."""
    return pg_or_skip()


def pg_or_skip() -> str:
    """Return the server URL once it answers; skip the test without one (fail it under CI=true)."""
    try:
        run_async(lambda: admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {PG_SERVER} is unreachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI must test PostgreSQL", pytrace=False)
        pytest.skip(message)
    return PG_SERVER


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """A migrated database that per-test databases are copied from."""
    name = create_database()
    try:
        run_async(lambda: migrate(database_url(name)))
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this test alone."""
    name = create_database(template=pg_template)
    yield database_url(name)
    drop_database(name)


@pytest.fixture
def empty_pg_url(pg_server: str) -> Iterator[str]:
    """An empty PostgreSQL database of this test alone."""
    name = create_database()
    yield database_url(name)
    drop_database(name)


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of this test alone, on each engine in turn."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    run_async(lambda: migrate(url))
    return url


@pytest.fixture
async def store_engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``store_url``."""
    engine = create_engine(store_url)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def running_store(settings: StoreSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the store app's lifespan (migration, Redis, consumer) and talk to it in-process."""
    async with in_process(create_app(settings), "http://store") as client:
        yield client
