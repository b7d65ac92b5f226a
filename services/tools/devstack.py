"""Run the whole pipeline in the foreground for development: Redis if needed, the three services and the
feeds process, the seeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from services.tools.local import redis_answers, start_redis

SERVICES = ("store", "enrich", "ingest")
# The feeds process may fetch from this machine and its network, so that a publisher served on 127.0.0.1
# can be read. It polls nothing until a feed is added.
FEEDS_ENV = {"FETCH_ALLOW_PRIVATE": "true"}


def _pump(name: str, stream: object) -> None:
    for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
        sys.stdout.write(f"{name:>7} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def start(name: str, module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``python -m module``, as docker-compose does, its output prefixed with ``name``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    threading.Thread(target=_pump, args=(name, proc.stdout), daemon=True).start()
    return proc


def start_services(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    """Start store, enrich and ingest with the same commands docker-compose uses, prefixing their output."""
    return [start(name, f"services.{name}", env) for name in SERVICES]


def start_feeds(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the feeds process (poller and page fetcher), allowed to fetch from private addresses."""
    return start("feeds", "services.ingest.feeds", {**env, **FEEDS_ENV})


def wait_healthy(urls: Sequence[str], procs: Sequence[subprocess.Popen[bytes]], timeout: float = 180) -> None:
    """Wait until every URL answers /healthz, or fail if a service exits first."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a service exited during start-up; see its output above")
        if time.monotonic() > deadline:
            raise SystemExit(f"services not healthy after {timeout:.0f}s: {pending}")
        try:
            if httpx.get(pending[0] + "/healthz", timeout=1).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.3)


def post_seeds(ingest_url: str, seeds: Path) -> None:
    """Post every seed file once; re-posting is answered as a duplicate and publishes nothing."""
    for path in sorted(p for p in seeds.iterdir() if p.is_file() and not p.name.startswith(".")):
        answer = httpx.post(
            f"{ingest_url}/v1/articles",
            content=path.read_bytes(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=30,
        )
        print(f"   seed | {path.name}: {answer.status_code} {answer.text}", flush=True)


def stop(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """SIGTERM the processes we started, then SIGKILL whatever outlives ``timeout``."""
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def run(root: Path) -> None:
    """Start everything, post the seeds, and run until Ctrl-C; then stop only what was started here."""
    env = dict(os.environ)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    host = env.get("BIND_HOST", "127.0.0.1")
    ingest_url = f"http://{host}:{env.get('INGEST_PORT', '8001')}"
    store_url = f"http://{host}:{env.get('STORE_PORT', '8002')}"
    services: list[subprocess.Popen[bytes]] = []
    redis_proc: list[subprocess.Popen[bytes]] = []
    # Explicit handlers: a stack started from a script may inherit SIGINT as ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        if not redis_answers(env["REDIS_URL"]):
            print(f"  stack | no Redis at {env['REDIS_URL']}: starting redis-server", flush=True)
            redis_proc.append(start_redis(env["REDIS_URL"], root / "var" / "redis"))
        services = [*start_services(env), start_feeds(env)]
        wait_healthy([store_url, ingest_url], services)
        post_seeds(ingest_url, root / "seeds")
        print(
            f"  stack | ready: ingest {ingest_url}, store {store_url}/v1/articles (Ctrl-C stops)", flush=True
        )
        while all(p.poll() is None for p in services):
            time.sleep(0.5)
        print("  stack | a service exited; stopping the rest", flush=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        print("\n  stack | stopping", flush=True)
    finally:
        stop(services)  # services first, so they drain while Redis is still there
        stop(redis_proc)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt
