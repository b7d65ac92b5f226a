"""How far each consumer group trails its stream, read from Redis with XINFO."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _lag(group: dict[str, Any], stream: dict[str, Any]) -> int | None:
    """Prefer Redis' own count; when it cannot tell (entries deleted), use entries added minus read."""
    if group.get("lag") is not None:
        return int(group["lag"])
    added, read = stream.get("entries-added"), group.get("entries-read")
    if added is not None and read is not None:
        return max(int(added) - int(read), 0)
    return None


async def group_lag(redis: Redis, *, stream: str, group: str) -> dict[str, Any]:
    """Describe one consumer group: entries not yet delivered (lag), delivered but unacknowledged."""
    out: dict[str, Any] = {
        "stream": stream,
        "group": group,
        "length": None,
        "lag": None,
        "pending": None,
        "consumers": None,
        "error": None,
    }
    try:
        info = await redis.xinfo_stream(stream)
        groups = await redis.xinfo_groups(stream)
    except ResponseError as exc:
        out["error"] = "no such stream" if "no such key" in str(exc).lower() else str(exc)
        return out
    except (RedisError, OSError) as exc:
        out["error"] = f"Redis unreachable: {type(exc).__name__}"
        return out
    out["length"] = int(info["length"])
    found = next((g for g in groups if _text(g.get("name")) == group), None)
    if found is None:
        out["error"] = "no such consumer group"
        return out
    out.update(lag=_lag(found, info), pending=int(found["pending"]), consumers=int(found["consumers"]))
    return out
