"""docs/SUBSCRIBING.md works as written: its redis-cli, Python and curl examples run against real services."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from services.contracts import enriched_stream
from services.runtime.codec import DATA_FIELD
from tests.factories import enriched_article, enriched_entry, entity
from tests.harness import ROOT, Pipeline, wait_for

DOC = ROOT / "docs" / "SUBSCRIBING.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    """The fenced code blocks of the document in ``language``."""
    return [body for lang, body in FENCE.findall(DOC.read_text()) if lang == language]


class Lines:
    """Read a child's output line by line, each read bounded by a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.fd, self.buffer = proc.stdout.fileno(), b""

    def next(self, timeout: float = 20) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode().rstrip("\r")

    def take(self, n: int, timeout: float = 20, keep: str = "") -> list[str]:
        """The next ``n`` lines starting with ``keep``; others are skipped."""
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            line = self.next(max(deadline - time.monotonic(), 0))
            assert line is not None, f"got {out} of {n} lines within {timeout}s"
            if line.startswith(keep):
                out.append(line)
        return out


@pytest.fixture
def run(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test, stopped at its end."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def start(procs: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], cwd: Path) -> Lines:
    proc = subprocess.Popen(
        args,
        env={"PATH": os.environ["PATH"], **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    procs.append(proc)
    return Lines(proc)


def add(redis: Redis, prefix: str, *articles: object) -> list[str]:
    return [
        redis.xadd(enriched_stream(prefix), enriched_entry(a)).decode()  # type: ignore[arg-type,union-attr]
        for a in articles
    ]


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[Redis]:
    with Redis.from_url(redis_url) as client:
        yield client


@pytest.mark.parametrize("name", ["consume_group.py", "follow_feed.py"])
def test_the_example_files_are_what_the_document_shows(name: str) -> None:
    assert (ROOT / "examples" / name).read_text() in blocks("python"), f"examples/{name} differs from the doc"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="needs redis-cli")
def test_the_redis_cli_recipe_runs(redis_url: str, prefix: str, sync_redis: Redis) -> None:
    [before] = add(sync_redis, prefix, enriched_article())
    recipe = [b for b in blocks("sh") if "XGROUP CREATE" in b] + [b for b in blocks("sh") if "news:dead" in b]
    commands = [line for b in recipe for line in b.splitlines() if line.startswith("redis-cli ")]
    assert len(commands) == 7
    outputs = []
    for command in commands:
        command = command.replace("news:", f"{prefix}:").replace("redis-cli", f"redis-cli -u {redis_url}", 1)
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20, check=False)
        assert done.returncode == 0 and "ERR" not in done.stdout, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert before in outputs[1], "XREADGROUP of a group created at 0 must deliver the earlier entry"
    [group] = sync_redis.xinfo_groups(enriched_stream(prefix))
    assert group["name"] == b"mygroup"


def test_the_consumer_group_example_processes_everything_once(
    run: list[subprocess.Popen[bytes]], redis_url: str, prefix: str, sync_redis: Redis, tmp_path: Path
) -> None:
    stream = enriched_stream(prefix)
    articles = [enriched_article() for _ in range(3)]
    first = add(sync_redis, prefix, articles[0], articles[1])
    sync_redis.xadd(stream, {DATA_FIELD: "not json"})
    add(sync_redis, prefix, articles[2])
    # A consumer that read the first entry and crashed before acknowledging it.
    sync_redis.xgroup_create(stream, "mygroup", id="0")
    assert (
        sync_redis.xreadgroup("mygroup", "crashed", {stream: ">"}, count=1)[0][1][0][0].decode() == first[0]
    )

    env = {"REDIS_URL": redis_url, "STREAM_PREFIX": prefix, "CONSUMER": "worker-1", "CLAIM_IDLE_MS": "1"}
    args = [sys.executable, str(ROOT / "examples" / "consume_group.py")]
    lines = start(run, args, env, tmp_path)
    printed = lines.take(3)
    assert sorted(line.split()[0] for line in printed) == sorted(a.id for a in articles)
    wait_for(lambda: sync_redis.xpending(stream, "mygroup")["pending"] == 0, timeout=10, what="every ack")
    run[0].kill()
    assert b"skipped unreadable entry" in (run[0].stderr.read() if run[0].stderr else b"")

    # Restarted under the same name, it carries on after what it acknowledged.
    later = enriched_article()
    lines = start(run, args, env, tmp_path)
    add(sync_redis, prefix, later)
    assert lines.take(1)[0].split()[0] == later.id
    with sqlite3.connect(tmp_path / "articles.db") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM articles")}
    assert stored == {a.id for a in (*articles, later)}


@pytest.fixture
def store(tmp_path: Path, redis_url: str, prefix: str) -> Iterator[Pipeline]:
    """A pipeline on the test's prefix whose store the test starts (and may restart)."""
    pipeline = Pipeline(redis_url, tmp_path, prefix=prefix, settings={"FEED_HEARTBEAT_S": "0.5"})
    yield pipeline
    assert all(code == 0 for code in pipeline.stop_all().values())


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_curl_examples_follow_and_resume_the_feed(
    run: list[subprocess.Popen[bytes]], store: Pipeline, prefix: str, sync_redis: Redis
) -> None:
    store.start("store")
    tmp, url = store.workdir, {"STORE_URL": store.store}
    follow, resume = [b for b in blocks("sh") if "curl -N" in b]
    lines = start(run, ["bash", "-c", follow], url, tmp)
    assert lines.take(1, keep=":") == [": connected"]
    lavrov = [entity("Sergey Lavrov")]
    ids = add(sync_redis, prefix, enriched_article(entities=lavrov), enriched_article())
    assert lines.take(1, keep="id:") == [f"id: {ids[0]}"]

    missed = add(sync_redis, prefix, *(enriched_article(entities=lavrov) for _ in range(2)))
    script = re.sub(r"^LAST_ID=\S+", f"LAST_ID={ids[0]}", resume, flags=re.M)
    lines = start(run, ["bash", "-c", script], url, tmp)
    assert lines.take(2, keep="id:") == [f"id: {i}" for i in missed]


def test_the_python_feed_example_resumes_across_a_store_restart(
    run: list[subprocess.Popen[bytes]], store: Pipeline, prefix: str, sync_redis: Redis
) -> None:
    service = store.start("store")
    args = [sys.executable, str(ROOT / "examples" / "follow_feed.py"), "source=docs"]
    lines = start(run, args, {"STORE_URL": store.store}, store.workdir)
    sent: list[str] = []

    def first_line() -> str | None:  # the feed starts at the tail: publish until it is connected
        sent.extend(add(sync_redis, prefix, enriched_article(source="docs"), enriched_article()))
        return lines.next(timeout=0.5)

    seen = wait_for(first_line, timeout=30, interval=0, what="the example to print an article")
    ours = sent[::2]
    at = ours.index(seen.split()[0])
    assert lines.take(len(ours) - at - 1) == [_line(sync_redis, prefix, i) for i in ours[at + 1 :]]

    assert service.stop() == 0
    missed = add(sync_redis, prefix, *(enriched_article(source="docs") for _ in range(2)))
    store.start("store")
    assert lines.take(2, timeout=30) == [_line(sync_redis, prefix, i) for i in missed]
    [sentinel] = add(sync_redis, prefix, enriched_article(source="docs"))
    assert lines.take(1) == [_line(sync_redis, prefix, sentinel)], "an event came twice"


def _line(redis: Redis, prefix: str, entry_id: str) -> str:
    """What examples/follow_feed.py prints for an entry."""
    [(_, fields)] = redis.xrange(enriched_stream(prefix), entry_id, entry_id)
    article = json.loads(fields[DATA_FIELD.encode()])["body"]
    return f"{entry_id} {article['id']} {article['title']}"


def test_the_documented_regenerate_command_reproduces_the_committed_document(tmp_path: Path) -> None:
    [command] = [b.strip() for b in blocks("sh") if "wirestream asyncapi" in b]
    target = tmp_path / "asyncapi.yaml"
    script = command.replace("--output docs/asyncapi.yaml", f"--output {target}")
    subprocess.run(["bash", "-c", script], cwd=ROOT, check=True, timeout=60)
    assert target.read_text() == (ROOT / "docs" / "asyncapi.yaml").read_text()
