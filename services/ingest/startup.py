"""Checks ingest makes once at start, against the Redis it will write to."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError, ResponseError

from services.errors import ConfigurationError
from services.ingest.settings import PublishSettings


def check_wait_aof(settings: PublishSettings) -> None:
    """With INGEST_WAIT_AOF on, make sure Redis can confirm fsyncs: it runs WAITAOF (Redis 7.2+) and
    keeps an append-only file. Raise ConfigurationError naming each problem, or saying that Redis did
    not answer; do nothing when INGEST_WAIT_AOF is off."""
    if not settings.ingest_wait_aof:
        return
    problems = []
    try:
        with Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5) as client:
            version = client.info("server").get("redis_version", "?")
            try:
                # Asking for nothing answers at once where WAITAOF exists.
                client.execute_command("WAITAOF", 0, 0, 1)
            except ResponseError as exc:
                unknown = "unknown command" in str(exc).lower()
                problems.append(
                    f"Redis {version} has no WAITAOF (Redis 7.2 or later has it)"
                    if unknown
                    else f"Redis {version} refuses WAITAOF ({exc})"
                )
            if not client.info("persistence").get("aof_enabled"):
                problems.append("Redis keeps no append-only file (appendonly no)")
    except (RedisError, OSError) as exc:
        raise ConfigurationError(
            f"INGEST_WAIT_AOF is on but Redis did not answer to be checked ({type(exc).__name__}: {exc})"
        ) from None
    if problems:
        raise ConfigurationError(
            f"INGEST_WAIT_AOF is on but {' and '.join(problems)}: upgrade or configure Redis, or turn "
            "INGEST_WAIT_AOF off"
        )
