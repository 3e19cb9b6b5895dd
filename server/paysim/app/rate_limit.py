"""Fixed-window request limits per caller: Redis when configured (shared by every process),
an in-process counter otherwise."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("paysim.rate_limit")

WINDOW_SECONDS = 60


class RateLimiter(Protocol):
    async def hit(self, key: str) -> float | None:
        """Count one request; the seconds to wait if the caller is over its limit, else None."""

    async def close(self) -> None: ...


class NoLimit:
    async def hit(self, key: str) -> float | None:
        return None

    async def close(self) -> None:
        return None


class InProcessLimiter:
    def __init__(self, per_window: int) -> None:
        self._limit = per_window
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str) -> float | None:
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return (window + 1) * WINDOW_SECONDS - now if count > self._limit else None

    async def close(self) -> None:
        return None


class RedisLimiter:
    def __init__(self, redis: Redis, per_window: int, *, namespace: str = "paysim:rl") -> None:
        self._redis = redis
        self._limit = per_window
        self._namespace = namespace

    async def hit(self, key: str) -> float | None:
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        name = f"{self._namespace}:{window}:{key}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW_SECONDS * 2)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as error:
            # Redis helps, it never decides: an outage lets requests through rather than failing them.
            log.warning("rate limiter unavailable, not limiting: %s", type(error).__name__)
            return None
        return (window + 1) * WINDOW_SECONDS - now if int(count) > self._limit else None

    async def close(self) -> None:
        return None  # the Redis client is shared, and closed by its owner
