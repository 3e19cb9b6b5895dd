"""The Redis guard's breaker and its log, with a hand-driven clock and operations that fail on
demand (no Redis needed: the real one, frozen, is in tests/test_redis_outage.py)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from paysim.app.redis_guard import FAILURES_TO_OPEN, GuardedRedis, RedisUnavailable
from paysim.config import ConfigError, Settings


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_failures_open_the_breaker_and_each_change_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="paysim.redis")
    clock = Clock()
    guard = GuardedRedis(
        Redis(), timeout=0.05, retry_seconds=5, clock=clock, consequence="rate limits are not enforced"
    )
    calls = 0

    async def failing(_: Redis) -> int:
        nonlocal calls
        calls += 1
        raise RedisConnectionError("refused")

    async def answering(_: Redis) -> int:
        nonlocal calls
        calls += 1
        return 7

    async def hung(_: Redis) -> int:
        await asyncio.Event().wait()
        return 0

    async def scenario() -> None:
        nonlocal calls
        for _ in range(FAILURES_TO_OPEN - 1):
            with pytest.raises(RedisUnavailable):
                await guard.run(failing)
        with pytest.raises(RedisUnavailable):
            await guard.run(hung)  # a Redis that never answers fails after the timeout
        # Open: nobody waits for Redis, and the caller learns when it will be tried again.
        calls = 0
        for _ in range(10):
            with pytest.raises(RedisUnavailable) as skipped:
                await guard.run(answering)
            assert skipped.value.retry_after == 5
        assert calls == 0
        # After the cool-down one call tries again; a failed try keeps it open, unlogged.
        clock.now += timedelta(seconds=5)
        with pytest.raises(RedisUnavailable):
            await guard.run(failing)
        clock.now += timedelta(seconds=5)
        assert await guard.run(answering) == 7
        assert await guard.run(answering) == 7

    asyncio.run(scenario())
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "paysim.redis"]
    assert [level for level, _ in lines] == [logging.WARNING, logging.INFO]
    assert "rate limits are not enforced" in lines[0][1]


def test_the_failure_mode_is_open_or_closed() -> None:
    assert Settings().rate_limit_failure_mode == "open"
    assert Settings.from_env({"PAYSIM_RATE_LIMIT_FAILURE_MODE": "Closed"}).rate_limit_failure_mode == "closed"
    with pytest.raises(ConfigError):
        Settings.from_env({"PAYSIM_RATE_LIMIT_FAILURE_MODE": "half"})
