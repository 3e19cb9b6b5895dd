"""Redis behind a short timeout and a circuit breaker.

Redis only helps (it shares the rate-limit counters between processes): a Redis that stops
answering must not hold up the calls it helps with. Each operation gets ``timeout`` seconds; a
few failures open the breaker, and for ``retry_seconds`` nobody waits for Redis at all; then one
call tries it again (the breaker of domain/circuit_breaker.py, kept in this process's memory).
Whether Redis is usable is logged when it changes, never per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from paysim.domain import circuit_breaker as breaker
from paysim.services.clock import Clock

if TYPE_CHECKING:  # the client library is loaded by a process that has a Redis to talk to
    from redis.asyncio import Redis

log = logging.getLogger("paysim.redis")

T = TypeVar("T")

# Failures within the window that open the breaker: one slow answer is not an outage.
FAILURES_TO_OPEN = 3
FAILURE_WINDOW = timedelta(seconds=30)


class RedisUnavailable(Exception):
    """Redis did not answer in time, refused, or is being left alone for ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("redis is unavailable")
        self.retry_after = retry_after


def connect(url: str, timeout: float) -> Redis:
    """A client whose every connect and read gives up after ``timeout`` and is never retried by
    the client itself: the breaker decides when to try again."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


class GuardedRedis:
    def __init__(self, redis: Redis, *, timeout: float, retry_seconds: float, clock: Clock, consequence: str) -> None:
        from redis.exceptions import RedisError

        self._redis = redis
        self._failures: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
        self._timeout = timeout
        self._clock = clock
        # Said in the log line when Redis becomes unavailable: what that means for the callers.
        self._consequence = consequence
        self._config = breaker.BreakerConfig(
            failure_threshold=FAILURES_TO_OPEN,
            window=FAILURE_WINDOW,
            cool_down=timedelta(seconds=retry_seconds),
            max_probes=1,
            success_threshold=1,
            # A probe whose caller was cancelled never reports; its slot frees itself by then.
            probe_timeout=timedelta(seconds=max(1.0, 2 * timeout)),
        )
        self._state = breaker.reset(clock())
        self._available = True

    async def run(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """``operation`` on Redis, or RedisUnavailable at once while the breaker is open."""
        decision, self._state = breaker.admit(self._state, self._config, self._clock())
        if decision is breaker.Decision.REJECTED:
            raise RedisUnavailable(self._retry_after())
        try:
            async with asyncio.timeout(self._timeout):
                result = await operation(self._redis)
        except self._failures as error:
            self._state = breaker.record_failure(self._state, self._config, self._clock(), type(error).__name__)
            self._note(error)
            raise RedisUnavailable(self._retry_after()) from error
        self._state = breaker.record_success(self._state, self._config, self._clock())
        self._note(None)
        return result

    def _retry_after(self) -> float:
        reopens = breaker.reopens_at(self._state, self._config)
        if reopens is None:
            return self._config.cool_down.total_seconds()
        return max((reopens - self._clock()).total_seconds(), 0.0)

    def _note(self, error: BaseException | None) -> None:
        # Available means CLOSED; a failed probe (HALF_OPEN back to OPEN) is the same outage.
        available = self._state.status is breaker.BreakerStatus.CLOSED
        if available == self._available:
            return
        self._available = available
        if available:
            log.info("redis answers again: rate limits are shared again")
        else:
            log.warning(
                "redis is unavailable (%s): %s until it answers; trying again every %g s",
                type(error).__name__ if error else "no answer",
                self._consequence,
                self._config.cool_down.total_seconds(),
            )

    async def close(self) -> None:
        await self._redis.aclose()
