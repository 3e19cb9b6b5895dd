"""Shutdown's drain count: a call is in flight until its work is over *and* gRPC has finished the
call (its reply sent), so stopping gRPC's server once the drain is over cannot cancel an answer
that was ready but not yet on the wire."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from paysim.app.calls_in_flight import CallsInFlight
from paysim.domain.errors import Unavailable

LOGIN = "/paysim.v1.AuthService/Login"


class FakeCallEnd:
    """Stands in for gRPC's servicer context: records the done callbacks, runs them on ``finish``."""

    def __init__(self) -> None:
        self._callbacks: list[Any] = []

    def add_done_callback(self, callback: Any) -> None:
        self._callbacks.append(callback)

    def finish(self) -> None:
        for callback in self._callbacks:
            callback(self)


def test_a_call_whose_work_is_over_is_in_flight_until_grpc_finishes_it() -> None:
    async def scenario() -> None:
        calls = CallsInFlight()
        end = FakeCallEnd()
        with calls.call(LOGIN, end):
            assert calls.count == 1
        assert calls.count == 1  # the reply is not sent yet
        assert not await calls.wait_idle(0.01)
        end.finish()
        assert calls.count == 0
        assert await calls.wait_idle(0.01)

    asyncio.run(scenario())


def test_a_call_grpc_finished_first_is_in_flight_until_its_work_is_over() -> None:
    """A unary call whose client left: gRPC is done with it, the server still finishes the work."""

    async def scenario() -> None:
        calls = CallsInFlight()
        end = FakeCallEnd()
        with calls.call(LOGIN, end):
            end.finish()
            assert calls.count == 1
            assert not await calls.wait_idle(0.01)
        assert await calls.wait_idle(0.01)

    asyncio.run(scenario())


def test_health_checks_are_not_counted_and_new_calls_are_refused_once_shutting_down() -> None:
    async def scenario() -> None:
        calls = CallsInFlight()
        end = FakeCallEnd()
        with calls.call("/grpc.health.v1.Health/Check", end):
            assert calls.count == 0
        calls.refuse_new()
        with pytest.raises(Unavailable) as refused, calls.call(LOGIN, end):
            pass
        assert refused.value.reason == "SERVER_SHUTTING_DOWN"
        with calls.call("/grpc.health.v1.Health/Watch", end):
            pass  # probes are still answered
        assert await calls.wait_idle(0.01)

    asyncio.run(scenario())


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_stop_waits_until_the_last_call_ended_a_moment_ago() -> None:
    """gRPC writes a finished call's reply a moment after it reports the call finished: the stop
    leaves it that moment, and only when a call ended within it."""

    async def scenario() -> None:
        clock = FakeTime()
        calls = CallsInFlight(now=clock, sleep=clock.sleep)
        await calls.settle(0.05)
        assert clock.slept == []  # no call yet: nothing to wait for

        end = FakeCallEnd()
        with calls.call(LOGIN, end):
            pass
        clock.now += 0.01
        end.finish()  # the last call ends at 100.01
        clock.now += 0.02
        await calls.settle(0.05)
        assert clock.slept == pytest.approx([0.03])

        clock.now += 1.0
        await calls.settle(0.05)
        assert clock.slept == pytest.approx([0.03])  # it ended long ago

    asyncio.run(scenario())
