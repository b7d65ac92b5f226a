"""The ``wirestream`` command line: run the development stack and operate a deployment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer
from redis.asyncio import Redis
from rich.console import Console
from rich.table import Table

from services.contracts import STAGES
from services.errors import RequestError
from services.runtime import deadletter
from services.runtime.connection import on_keyspace, open_redis
from services.settings import CommonSettings

app = typer.Typer(help="Wirestream: news ingestion, enrichment and search.", no_args_is_help=True)
dead = typer.Typer(help="Inspect and replay dead-lettered entries (uses REDIS_URL and STREAM_PREFIX).")
app.add_typer(dead, name="dead")
console = Console()
T = TypeVar("T")


@app.callback()
def main() -> None:
    """Operate Wirestream."""


@app.command()
def run(root: Path = typer.Option(Path.cwd(), help="project folder holding seeds/ and var/")) -> None:
    """Run Redis (if none answers), the three services and post the seeds, until Ctrl-C."""
    from services.tools.devstack import run as run_stack

    run_stack(root)


@app.command()
def migrate() -> None:
    """Apply pending schema migrations to DATABASE_URL (the store also does this on start)."""
    from services.store.db.engine import migrate_sync
    from services.store.settings import StoreSettings

    url = StoreSettings().database_url
    migrate_sync(url)
    console.print(f"schema of {url.split('@')[-1]} is up to date")


@app.command()
def asyncapi(output: Path | None = typer.Option(None, help="write here instead of standard output")) -> None:
    """Print the AsyncAPI document of the streams (docs/asyncapi.yaml is this, for the prefix `news`)."""
    from services.tools.asyncapi import render_asyncapi_yaml

    document = render_asyncapi_yaml()
    if output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document)


def _with_redis(action: Callable[[Redis, CommonSettings], Awaitable[T]]) -> T:
    settings = CommonSettings()

    async def go() -> T:
        redis = await open_redis(settings.redis_url)
        try:
            return await action(redis, on_keyspace(settings, redis))
        finally:
            await redis.aclose()

    return asyncio.run(go())


@dead.command("list")
def dead_list(
    stage: str | None = typer.Option(None, help="only entries that died in this stage (enrich, store)"),
    limit: int = typer.Option(20, min=1, max=1000),
) -> None:
    """List dead entries, newest first."""
    if stage is not None and stage not in STAGES:
        raise typer.BadParameter(
            f"{stage!r} is not a stage; one of {', '.join(STAGES)}", param_hint="--stage"
        )
    entries = _with_redis(
        lambda r, s: deadletter.list_dead(r, prefix=s.stream_prefix, stage=stage, limit=limit)
    )
    table = Table("dead id", "stage", "deliveries", "died at (UTC)", "error")
    for entry in entries:
        died = datetime.fromtimestamp(entry.dead_at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(entry.id, entry.stage, str(entry.deliveries), died, entry.error[:120])
    console.print(table)
    console.print(f"{len(entries)} dead entries shown")


@dead.command("replay")
def dead_replay(dead_ids: list[str] = typer.Argument(..., help="ids from `wirestream dead list`")) -> None:
    """Re-publish dead entries to the stage they failed in; each leaves the dead stream once re-published."""

    async def replay_all(redis: Redis, settings: CommonSettings) -> int:
        failed = 0
        for dead_id in dead_ids:
            try:
                stream, new_id = await deadletter.replay(
                    redis, prefix=settings.stream_prefix, dead_id=dead_id
                )
            except RequestError as exc:
                console.print(f"[red]{dead_id}: {exc.detail}[/red]")
                failed += 1
            else:
                console.print(f"{dead_id} → {stream} as {new_id}")
        return failed

    if _with_redis(replay_all):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
