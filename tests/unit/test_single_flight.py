"""Concurrent callers with one key share one computation; a caller that gives up does not stop
it for the rest; nothing is kept after it ends."""

from __future__ import annotations

import asyncio

import pytest

from paysim.services.single_flight import SingleFlight


def test_callers_with_one_key_share_one_run_and_others_run_their_own() -> None:
    async def scenario() -> None:
        flight: SingleFlight[str, int] = SingleFlight()
        runs: list[str] = []
        release = asyncio.Event()

        async def work(key: str) -> int:
            runs.append(key)
            await release.wait()
            return len(runs)

        callers = [asyncio.create_task(flight.run(k, lambda k=k: work(k))) for k in ["a", "a", "a", "b"]]
        await asyncio.sleep(0)
        assert len(flight) == 2
        release.set()
        results = await asyncio.gather(*callers)
        assert sorted(runs) == ["a", "b"]
        assert results[0] == results[1] == results[2]
        assert len(flight) == 0  # nothing kept: the next call runs again
        await flight.run("a", lambda: work("a"))
        assert runs.count("a") == 2

    asyncio.run(scenario())


def test_a_cancelled_caller_leaves_the_work_to_the_others_and_errors_reach_everyone() -> None:
    async def scenario() -> None:
        flight: SingleFlight[str, int] = SingleFlight()
        release = asyncio.Event()

        async def work() -> int:
            await release.wait()
            return 7

        first = asyncio.create_task(flight.run("k", work))
        second = asyncio.create_task(flight.run("k", work))
        await asyncio.sleep(0)
        first.cancel()
        release.set()
        assert await second == 7
        with pytest.raises(asyncio.CancelledError):
            await first

        async def failing() -> int:
            raise LookupError("gone")

        outcomes = await asyncio.gather(flight.run("x", failing), flight.run("x", failing), return_exceptions=True)
        assert all(isinstance(o, LookupError) for o in outcomes)

    asyncio.run(scenario())
