"""Waiting for an asyncio event with a time limit, in a task that may be cancelled meanwhile."""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; whether it was set.

    Not ``asyncio.wait_for``: on Python 3.11, when the wait it wraps finishes just as its task is
    cancelled, wait_for returns normally and the cancellation is lost, so a background loop being
    stopped at that moment carries on for ever (and whoever awaits its end, with it).
    ``asyncio.timeout`` tells its own timeout from a cancellation and lets the latter through.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
