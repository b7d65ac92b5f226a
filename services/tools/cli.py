"""The ``wirestream`` command line: run the development stack and operate a deployment."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import ValidationError
from redis.asyncio import Redis
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.contracts import STAGES
from services.errors import RequestError
from services.ingest.feeds.opml import parse_opml
from services.ingest.feeds.registry import (
    DEFAULT_INTERVAL_S,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    FeedIn,
    FeedRegistry,
    import_feeds,
)
from services.runtime import deadletter
from services.runtime.connection import on_keyspace, open_redis
from services.settings import CommonSettings

app = typer.Typer(help="Wirestream: news ingestion, enrichment and search.", no_args_is_help=True)
dead = typer.Typer(help="Inspect and replay dead-lettered entries (uses REDIS_URL and STREAM_PREFIX).")
app.add_typer(dead, name="dead")
feeds = typer.Typer(
    help="Register the feeds to poll (uses REDIS_URL and STREAM_PREFIX).", no_args_is_help=True
)
app.add_typer(feeds, name="feeds")
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
    stage: str | None = typer.Option(
        None, help="only entries that died in this stage (enrich, store, fetch)"
    ),
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


_OPTION = {"url": "URL", "interval_s": "--interval", "source": "--source", "tags": "--tag"}


@feeds.command("add")
def feeds_add(
    url: str = typer.Argument(..., help="the feed's http(s) URL"),
    interval: int = typer.Option(
        DEFAULT_INTERVAL_S, help=f"seconds between polls ({MIN_INTERVAL_S}-{MAX_INTERVAL_S})"
    ),
    source: str | None = typer.Option(None, help="the source its articles name"),
    fetch_pages: bool = typer.Option(False, "--fetch-pages", help="fetch each item's page for its full text"),
    tag: list[str] = typer.Option([], help="a tag for its articles; repeat for more"),
) -> None:
    """Register a feed, due for its first poll at once."""
    try:
        feed = FeedIn(url=url, interval_s=interval, source=source, fetch_pages=fetch_pages, tags=tag)
    except ValidationError as exc:
        [first, *_] = exc.errors(include_url=False)
        raise typer.BadParameter(
            first["msg"].removeprefix("Value error, "), param_hint=_OPTION.get(str(first["loc"][0]))
        ) from None
    try:
        added = _with_redis(lambda r, s: FeedRegistry(r, s.stream_prefix).add(feed))
    except RequestError as exc:
        console.print(f"[red]{escape(str(exc.detail))}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{added.id} {escape(added.url)}: polled every {added.interval_s} s, first now")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "-"


@feeds.command("list")
def feeds_list() -> None:
    """List the feeds with how their polls went."""
    listed = _with_redis(lambda r, s: FeedRegistry(r, s.stream_prefix).list())
    columns = (
        "id",
        "url",
        "every",
        "last poll (UTC)",
        "HTTP",
        "failures",
        "seen",
        "published",
        "next poll (UTC)",
    )
    table = Table(*columns, "state")
    for feed in listed:
        st = feed.status
        url = escape(f"{feed.url} → {st.current_url}" if st.current_url else feed.url)
        state = escape(f"disabled: {st.disabled_reason}" if st.disabled else (st.last_error or "ok")[:80])
        row = [feed.id, url, f"{feed.interval_s} s", _when(st.last_polled_at), str(st.last_status or "-")]
        row += [str(st.consecutive_failures), str(st.items_seen), str(st.items_published)]
        table.add_row(*row, _when(st.next_poll_at), state)
    console.print(table)
    console.print(f"{len(listed)} feeds")


@feeds.command("remove")
def feeds_remove(feed_id: str = typer.Argument(..., help="an id from `wirestream feeds list`")) -> None:
    """Stop polling a feed and forget it; the articles it brought stay."""
    try:
        _with_redis(lambda r, s: FeedRegistry(r, s.stream_prefix).remove(feed_id))
    except RequestError as exc:
        console.print(f"[red]{escape(str(exc.detail))}[/red]")
        raise typer.Exit(1) from None
    console.print(f"{feed_id} removed")


@feeds.command("import")
def feeds_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="an OPML document"),
    interval: int = typer.Option(
        DEFAULT_INTERVAL_S, min=MIN_INTERVAL_S, max=MAX_INTERVAL_S, help="seconds between polls of each"
    ),
    fetch_pages: bool = typer.Option(False, "--fetch-pages", help="fetch each item's page for its full text"),
) -> None:
    """Register every feed an OPML document names; exit status 1 when one was rejected."""
    try:
        outlines = parse_opml(file.read_bytes())
    except ValueError as exc:
        raise typer.BadParameter(f"not an OPML document: {exc}", param_hint="FILE") from None
    results = _with_redis(
        lambda r, s: import_feeds(
            FeedRegistry(r, s.stream_prefix), outlines, interval_s=interval, fetch_pages=fetch_pages
        )
    )
    table = Table("#", "url", "result", "id or reason")
    for item in results:
        table.add_row(
            str(item.index), escape(item.url or "-"), item.status, escape(item.id or item.error or "")
        )
    console.print(table)
    counts = {s: sum(1 for i in results if i.status == s) for s in ("created", "exists", "rejected")}
    console.print(", ".join(f"{n} {status}" for status, n in counts.items()))
    if counts["rejected"]:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
