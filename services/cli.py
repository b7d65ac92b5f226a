"""The ``wirestream`` command line: run the development stack and operate a deployment."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Wirestream: news ingestion, enrichment and search.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Operate Wirestream."""


@app.command()
def run(root: Path = typer.Option(Path.cwd(), help="project folder holding seeds/ and var/")) -> None:
    """Run Redis (if none answers), the three services and post the seeds, until Ctrl-C."""
    from services.devstack import run as run_stack

    run_stack(root)


if __name__ == "__main__":
    app()
