"""Circuit breakers kept in the real database of a server: they survive a restart, a second server
process on the same database sees them, and concurrent outcomes are all counted."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar, cast

import pytest

from paysim.domain.circuit_breaker import BreakerConfig, BreakerStatus
from paysim.services.circuit_breakers import PLATFORM_SCOPE, CircuitBreakers
from paysim.store.database import create_engine
from paysim.store.unit_of_work import UnitOfWork
from tests.support.backends import Backend
from tests.support.factories import unique
from tests.support.harness import ServerHandle

pytestmark = pytest.mark.timeout(180)

T = TypeVar("T")


def breakers(server: ServerHandle, config: BreakerConfig | None = None) -> CircuitBreakers:
    """A brand-new service over the server's database, as a restarted process would build it."""
    return CircuitBreakers(server.app.unit_of_work, server.clock, config)


def test_lifecycle_through_the_database(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    scope = unique("mer")

    async def scenario() -> None:
        service = breakers(server)
        assert (await service.snapshot(scope, "stripe")).status is BreakerStatus.CLOSED
        assert await service.list(scope) == []
        for i in range(4):
            assert await service.admit(scope, "stripe")
            state = await service.record(scope, "stripe", False, f"gateway_error {i}")
            assert state.status is BreakerStatus.CLOSED
        state = await service.record(scope, "stripe", False, "timeout")
        assert state.status is BreakerStatus.OPEN

        # Rejections while open are counted and stored.
        for _ in range(3):
            assert not await service.admit(scope, "stripe")
        server.clock.advance(timedelta(seconds=29))
        assert not await service.admit(scope, "stripe")
        assert not await service.is_available(scope, "stripe")

        server.clock.advance(timedelta(seconds=1))
        assert await service.is_available(scope, "stripe")
        assert await service.admit(scope, "stripe")  # the one probe
        assert not await service.admit(scope, "stripe")  # probe limit
        assert (await service.snapshot(scope, "stripe")).status is BreakerStatus.HALF_OPEN
        await service.record(scope, "stripe", True)
        assert await service.admit(scope, "stripe")
        state = await service.record(scope, "stripe", True)
        assert state.status is BreakerStatus.CLOSED

        stored = await service.snapshot(scope, "stripe")
        assert stored == state
        assert (stored.calls, stored.successes, stored.failures) == (7, 2, 5)
        assert stored.rejections == 5
        assert stored.state_changes == 3
        assert stored.last_failure_reason == "timeout"

        # Other gateways and other scopes are untouched.
        assert (await service.snapshot(scope, "paypal")).calls == 0
        assert (await service.snapshot(PLATFORM_SCOPE, "stripe")).calls == 0
        await service.record(scope, "paypal", True)
        listed = await service.list(scope)
        assert [b.gateway for b in listed] == ["paypal", "stripe"]
        assert all(b.scope == scope for b in listed)

    server.run(scenario())


def test_state_survives_a_new_service_instance(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    scope = unique("mer")

    async def trip() -> None:
        service = breakers(server)
        for _ in range(5):
            await service.record(scope, "razorpay", False, "outage")

    async def after_restart() -> None:
        service = breakers(server)
        state = await service.snapshot(scope, "razorpay")
        assert state.status is BreakerStatus.OPEN
        assert state.failures == 5
        assert not await service.admit(scope, "razorpay")
        assert (await service.reset(scope, "razorpay")).status is BreakerStatus.CLOSED

    async def after_reset() -> None:
        service = breakers(server)
        state = await service.snapshot(scope, "razorpay")
        assert state.status is BreakerStatus.CLOSED
        assert state.calls == state.failures == state.rejections == 0
        assert await service.admit(scope, "razorpay")

    server.run(trip())
    server.run(after_restart())
    server.run(after_reset())


SECOND_PROCESS = textwrap.dedent(
    """
    import asyncio, json, sys
    from paysim.services.circuit_breakers import CircuitBreakers
    from paysim.services.clock import system_clock
    from paysim.store.database import create_engine
    from paysim.store.unit_of_work import UnitOfWork

    async def main(url, scope, gateway):
        engine = create_engine(url, pool_size=2)
        try:
            service = CircuitBreakers(lambda: UnitOfWork(engine), system_clock)
            state = await service.snapshot(scope, gateway)
            allowed = await service.admit(scope, gateway)
            print(json.dumps({"status": state.status.value, "failures": state.failures, "allowed": allowed}))
        finally:
            await engine.dispose()

    asyncio.run(main(*sys.argv[1:4]))
    """
)


def test_a_second_server_process_sees_the_open_breaker(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    scope = unique("mer")

    async def trip() -> None:
        service = breakers(server)
        for _ in range(5):
            await service.record(scope, "stripe", False, "outage")

    server.run(trip())
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, server.settings.effective_database_url, scope, "stripe"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"status": "open", "failures": 5, "allowed": False}
    # The other process's rejection was stored where this one sees it.
    assert server.run(breakers(server).snapshot(scope, "stripe")).rejections == 1


def settle(results: list[T | BaseException]) -> list[T]:
    """Every result of a gather run with ``return_exceptions`` (so no task outlives a failure and
    keeps using an engine being disposed), or the first error."""
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast(list[T], results)


def test_concurrent_outcomes_from_two_processes_are_all_counted(
    make_server: Callable[..., ServerHandle], backend: Backend
) -> None:
    server = make_server()
    scope = unique("mer")
    per_process = 25 if backend.name == "postgres" else 10
    # A threshold nobody reaches: the breaker stays closed, every outcome must be counted.
    config = BreakerConfig(failure_threshold=10_000)

    async def hammer() -> None:
        other = create_engine(server.settings.effective_database_url, pool_size=6)
        try:
            here = breakers(server, config)
            there = CircuitBreakers(lambda: UnitOfWork(other), server.clock, config)
            calls = [
                service.record(scope, "stripe", i % 3 != 0, "boom")
                for i in range(per_process)
                for service in (here, there)
            ]
            settle(await asyncio.gather(*calls, return_exceptions=True))
            state = await there.snapshot(scope, "stripe")
            total = 2 * per_process
            assert state.calls == total
            assert state.failures == sum(2 for i in range(per_process) if i % 3 == 0)
            assert state.successes == total - state.failures
        finally:
            await other.dispose()

    server.run(hammer())


def test_concurrent_failures_open_once_and_probes_stay_limited(
    make_server: Callable[..., ServerHandle], backend: Backend
) -> None:
    server = make_server()
    scope = unique("mer")
    per_process = 20 if backend.name == "postgres" else 8
    config = BreakerConfig(max_probes=2)

    async def hammer() -> None:
        other = create_engine(server.settings.effective_database_url, pool_size=6)
        try:
            here = breakers(server, config)
            there = CircuitBreakers(lambda: UnitOfWork(other), server.clock, config)
            services = (here, there)
            settle(
                await asyncio.gather(
                    *(s.record(scope, "paypal", False, "outage") for _ in range(per_process) for s in services),
                    return_exceptions=True,
                )
            )
            state = await here.snapshot(scope, "paypal")
            assert state.status is BreakerStatus.OPEN
            assert state.failures == 2 * per_process
            assert state.state_changes == 1

            server.clock.advance(timedelta(seconds=30))
            admitted = settle(
                await asyncio.gather(
                    *(s.admit(scope, "paypal") for _ in range(per_process) for s in services), return_exceptions=True
                )
            )
            assert sum(admitted) == 2
            state = await there.snapshot(scope, "paypal")
            assert state.status is BreakerStatus.HALF_OPEN
            assert state.probes_in_flight == 2
            assert state.rejections == 2 * per_process - 2
        finally:
            await other.dispose()

    server.run(hammer())
