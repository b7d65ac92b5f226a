"""Drive a running deployment over HTTP, as a client would: post articles, read them back enriched.

deploy/compose-test.sh runs it inside the deployment's network namespace. Standard library only.

  smoke.py ready                                  ingest and store answer /readyz
  smoke.py post --ids FILE --count N --tag T      post N new articles (and --seed DIR's files first)
  smoke.py stored --ids FILE                      every id in FILE is stored, enriched
  smoke.py streams                                "stream group" of each pipeline group (from /v1/stats)
  smoke.py settled --ids FILE                     stored = posted, no group lags or holds entries, no dead

Every wait has a deadline (--timeout); a 503 or a refused connection is retried until then, as a client
of a deployment that is restarting a part would.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

INGEST = os.environ.get("INGEST_URL", "http://127.0.0.1:8001")
STORE = os.environ.get("STORE_URL", "http://127.0.0.1:8002")
PIPELINE_GROUPS = {"enrich", "store"}

# Real names and places, so that named-entity recognition has something to find in every article.
PEOPLE = ["Angela Merkel", "Emmanuel Macron", "Jacinda Ardern", "Cyril Ramaphosa", "Olaf Scholz"]
PLACES = ["Berlin", "Paris", "Nairobi", "Wellington", "Brussels", "Johannesburg", "Geneva"]
BODIES = ["the European Union", "the United Nations", "the World Bank", "the African Union"]


class Failed(Exception):
    """A check did not hold by its deadline."""


def call(method: str, url: str, body: bytes | None = None, ctype: str | None = None) -> tuple[int, Any]:
    """One HTTP request: (status, decoded JSON or text); status 0 when nothing answered."""
    request = urllib.request.Request(url, data=body, method=method)
    if ctype:
        request.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, urllib.error.URLError) as exc:
        return 0, str(exc)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def until(deadline: float, what: str, check: Any) -> Any:
    """Call ``check`` until it returns something true, or fail saying ``what`` and its last answer."""
    last: Any = None
    while time.monotonic() < deadline:
        ok, last = check()
        if ok:
            return last
        time.sleep(0.5)
    raise Failed(f"{what}: not so by the deadline; last: {str(last)[:600]}")


def ready(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for base in (INGEST, STORE):
        until(deadline, f"{base}/readyz answers 200", lambda base=base: _ok(call("GET", f"{base}/readyz")))
        print(f"ready: {base}")


def _ok(answer: tuple[int, Any]) -> tuple[bool, Any]:
    return answer[0] == 200, answer


def _accepted(deadline: float, path: str, body: bytes, ctype: str) -> Any:
    """POST until ingest answers 202 (or 200 for a batch); 503 and no answer are retried."""

    def attempt() -> tuple[bool, Any]:
        status, answer = call("POST", f"{INGEST}{path}", body, ctype)
        if status in (0, 503):
            return False, (status, answer)
        if status not in (200, 202):
            raise Failed(f"POST {path}: {status} {str(answer)[:600]}")
        return True, answer

    return until(deadline, f"POST {path} accepted", attempt)


def article(tag: str, n: int) -> dict[str, Any]:
    who, other = PEOPLE[n % len(PEOPLE)], PEOPLE[(n + 1) % len(PEOPLE)]
    where, body = PLACES[n % len(PLACES)], BODIES[n % len(BODIES)]
    return {
        "title": f"{who} meets {other} in {where} ({tag} #{n})",
        "body": f"{who} met {other} in {where} on Tuesday to discuss trade and climate policy with "
        f"{body}. Officials in {where} said the talks, number {n} of run {tag}, would continue. "
        f"{other} told reporters that {body} had agreed to publish a joint statement.",
        "source": f"compose-test-{tag}",
        "tags": ["compose-test"],
    }


def post(ids_file: Path, count: int, tag: str, seed: Path | None, batch: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    ids: list[str] = []
    for path in sorted(seed.iterdir()) if seed else []:
        answer = _accepted(deadline, "/v1/articles", path.read_bytes(), "text/plain; charset=utf-8")
        if answer.get("status") != "accepted":
            raise Failed(f"seed {path.name}: {answer}")
        ids.append(answer["id"])
    numbers = iter(range(count))
    while chunk := [article(tag, n) for n in itertools.islice(numbers, batch)]:
        answer = _accepted(deadline, "/v1/articles/batch", json.dumps(chunk).encode(), "application/json")
        refused = [item for item in answer["items"] if item["status"] != "accepted"]
        if refused:
            raise Failed(f"batch items not accepted: {refused[:3]}")
        ids.extend(item["id"] for item in answer["items"])
        with ids_file.open("a") as out:  # as we go: a poster stopped half-way still tells what it posted
            out.writelines(f"{i}\n" for i in ids)
        ids.clear()
    with ids_file.open("a") as out:
        out.writelines(f"{i}\n" for i in ids)
    print(f"posted {count} articles ({tag}){' and the seeds' if seed else ''}")


def read_ids(ids_file: Path) -> set[str]:
    return {line.strip() for line in ids_file.read_text().splitlines() if line.strip()}


def stored_articles() -> dict[str, dict[str, Any]]:
    """Every article the store lists, by id, paging with the cursor."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        url = f"{STORE}/v1/articles?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = call("GET", url)
        if status != 200:
            raise Failed(f"GET {url}: {status} {str(page)[:300]}")
        found.update((item["id"], item) for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return found


def stored(ids_file: Path, timeout: float) -> None:
    wanted = read_ids(ids_file)

    def check() -> tuple[bool, Any]:
        try:
            found = stored_articles()
        except Failed as exc:  # the store may be starting again
            return False, str(exc)
        missing = wanted - found.keys()
        return not missing, f"{len(missing)} of {len(wanted)} not stored yet, e.g. {sorted(missing)[:3]}"

    until(time.monotonic() + timeout, "every posted article stored", check)
    found = stored_articles()
    bare = [i for i in wanted if not (found[i].get("enriched_at") and found[i].get("entities"))]
    if bare:
        raise Failed(f"{len(bare)} articles stored without enrichment, e.g. {found[bare[0]]}")
    print(f"stored and enriched: {len(wanted)} articles")


def pipeline_groups() -> list[dict[str, Any]]:
    status, stats = call("GET", f"{STORE}/v1/stats")
    if status != 200:
        raise Failed(f"GET /v1/stats: {status} {str(stats)[:300]}")
    return [g for g in stats["streams"] if g["group"] in PIPELINE_GROUPS]


def streams() -> None:
    for group in pipeline_groups():
        print(group["stream"], group["group"])


def settled(ids_file: Path, timeout: float) -> None:
    posted = len(read_ids(ids_file))

    def check() -> tuple[bool, Any]:
        _, stats = call("GET", f"{STORE}/v1/stats")
        _, dead = call("GET", f"{STORE}/v1/dead?limit=5")
        if not isinstance(stats, dict) or not isinstance(dead, dict):
            return False, (stats, dead)
        groups = [g for g in stats["streams"] if g["group"] in PIPELINE_GROUPS]
        busy = [g for g in groups if g.get("error") or g["lag"] or g["pending"]]
        total = stats["articles"]["total"]
        summary = {"posted": posted, "stored": total, "groups": groups, "dead": dead["items"]}
        if dead["items"]:
            raise Failed(f"dead-lettered entries: {dead['items']}")
        return total == posted and len(groups) == len(PIPELINE_GROUPS) and not busy, summary

    summary = until(time.monotonic() + timeout, "stored = posted, nothing pending, nothing dead", check)
    figures = ", ".join(
        f"{g['stream']} {g['group']}: lag {g['lag']} pending {g['pending']}" for g in summary["groups"]
    )
    print(f"settled: posted {posted}, stored {summary['stored']}; {figures}; dead 0")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["ready", "post", "stored", "streams", "settled"])
    parser.add_argument("--ids", type=Path, help="file of posted article ids, one a line")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--tag", default="run")
    parser.add_argument("--seed", type=Path, help="folder of seed articles to post first")
    parser.add_argument("--batch", type=int, default=25, help="articles per batch request")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds")
    args = parser.parse_args()
    try:
        if args.command == "ready":
            ready(args.timeout)
        elif args.command == "post":
            post(args.ids, args.count, args.tag, args.seed, args.batch, args.timeout)
        elif args.command == "stored":
            stored(args.ids, args.timeout)
        elif args.command == "streams":
            streams()
        else:
            settled(args.ids, args.timeout)
    except Failed as exc:
        print(f"smoke {args.command}: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
