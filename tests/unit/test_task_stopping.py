"""Stopping background tasks: one that swallows its cancellation is cancelled again until it ends,
and what the tasks ended with is dropped without asyncio's "never retrieved" complaint."""

from __future__ import annotations

import asyncio
import logging

import pytest

from paysim.services.task_stopping import stop_tasks


async def swallows_first_cancellation(swallowed: list[int]) -> None:
    """A loop that loses one cancellation, as a wait_for racing its own wake-up does on 3.11."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(1)


def test_a_task_that_lost_its_cancellation_is_cancelled_again(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        swallowed: list[int] = []
        task = asyncio.create_task(swallows_first_cancellation(swallowed), name="stubborn")
        await asyncio.sleep(0)
        async with asyncio.timeout(10):
            await stop_tasks([task], recancel_seconds=0.01)
        assert task.cancelled()
        assert swallowed == [1]

    with caplog.at_level(logging.WARNING, logger="paysim.tasks"):
        asyncio.run(scenario())
    assert [r.fields["task"] for r in caplog.records] == ["stubborn"]  # type: ignore[attr-defined]


def test_tasks_that_end_or_fail_are_waited_for_and_none_is_missing() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        failed = asyncio.create_task(fails())
        sleeping = asyncio.create_task(asyncio.sleep(3600))
        await asyncio.sleep(0)
        await stop_tasks([None, failed, sleeping])
        assert failed.done() and not failed.cancelled()
        assert sleeping.cancelled()

    asyncio.run(scenario())
