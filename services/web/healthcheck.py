"""Container health check: ``python -m services.web.healthcheck PORT`` exits 0 when the service on
127.0.0.1:PORT answers ``GET /readyz`` with 200 within 4 s, else 1 with the reason on stderr.

A module rather than ``python -c "<code>"`` in the compose file: some engines' Docker API (podman's)
split a health check's arguments on spaces.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def check(port: int, timeout_s: float = 4.0) -> str | None:
    """Return None when ``/readyz`` on ``port`` answers 200, else why not."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=timeout_s) as answer:
            return None if answer.status == 200 else f"/readyz answered {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"/readyz answered {exc.code}"
    except OSError as exc:
        return f"/readyz unreachable: {exc}"


def main(argv: list[str]) -> int:
    """Exit status for the container engine: 0 healthy, 1 not (2 for a usage error)."""
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m services.web.healthcheck PORT", file=sys.stderr)
        return 2
    problem = check(int(argv[1]))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
