"""Stopping background tasks: each is cancelled once and waited for; one still running after the
patience is logged once (never cancelled again: it may be cleaning up), and what the tasks ended
with is dropped without asyncio's "never retrieved" complaint."""

from __future__ import annotations

import asyncio
import logging

import pytest

from paysim.services.task_stopping import stop_tasks


async def loses_its_cancellation(stopping: asyncio.Event, cancellations: list[int]) -> None:
    """A loop whose wait swallows the cancellation, as a wait_for racing its own wake-up does
    on 3.11: only its stopping flag ends it."""
    while not stopping.is_set():
        try:
            await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            cancellations.append(1)


def test_a_loop_that_lost_its_cancellation_ends_at_its_flag_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        stopping = asyncio.Event()
        cancellations: list[int] = []
        task = asyncio.create_task(loses_its_cancellation(stopping, cancellations), name="stubborn")
        await asyncio.sleep(0)

        class SetFlagOnceLogged(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                stopping.set()

        logger = logging.getLogger("paysim.tasks")
        handler = SetFlagOnceLogged()
        logger.addHandler(handler)
        try:
            async with asyncio.timeout(10):
                await stop_tasks([task], patience=0.05)
        finally:
            logger.removeHandler(handler)
        assert task.done() and not task.cancelled()
        assert cancellations == [1]  # cancelled once, never again

    with caplog.at_level(logging.WARNING, logger="paysim.tasks"):
        asyncio.run(scenario())
    assert [r.fields["task"] for r in caplog.records] == ["stubborn"]  # type: ignore[attr-defined]


def test_tasks_that_end_or_fail_are_waited_for_and_none_is_missing(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        failed = asyncio.create_task(fails())
        sleeping = asyncio.create_task(asyncio.sleep(3600))
        await asyncio.sleep(0)
        await stop_tasks([None, failed, sleeping])
        assert failed.done() and not failed.cancelled()
        assert sleeping.cancelled()

    with caplog.at_level(logging.WARNING, logger="paysim.tasks"):
        asyncio.run(scenario())
    assert not caplog.records
