"""Fixed-window request limits per caller: Redis when configured (shared by every process),
an in-process counter otherwise."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from paysim.app.redis_guard import GuardedRedis, RedisUnavailable
from paysim.domain.errors import Unavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

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
    """Counts in Redis. While Redis is unavailable, ``fail_open`` lets every call through
    uncounted; otherwise calls are refused (UNAVAILABLE, ``RATE_LIMITER_UNAVAILABLE``)."""

    def __init__(self, redis: GuardedRedis, per_window: int, *, namespace: str, fail_open: bool) -> None:
        self._redis = redis
        self._limit = per_window
        self._namespace = namespace
        self._fail_open = fail_open

    async def hit(self, key: str) -> float | None:
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        name = f"{self._namespace}:{window}:{key}"

        async def count(redis: Redis) -> int:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW_SECONDS * 2)
                counted, _ = await pipe.execute()
            return int(counted)

        try:
            counted = await self._redis.run(count)
        except RedisUnavailable as outage:
            if self._fail_open:
                return None
            raise Unavailable(
                "rate limiting is unavailable; retry shortly",
                reason="RATE_LIMITER_UNAVAILABLE",
                retry_after_seconds=outage.retry_after,
            ) from None
        return (window + 1) * WINDOW_SECONDS - now if counted > self._limit else None

    async def close(self) -> None:
        return None  # the Redis client is shared, and closed by its owner
