"""Stopping a background task, even one that missed its cancellation.

A cancellation can be lost: on Python 3.11 ``asyncio.wait_for`` returns normally when what it
waits for finishes just as its task is cancelled, and libraries use it where paysim cannot see.
A background loop that loses its cancellation carries on for ever, and the shutdown awaiting its
end with it (seen once: the analytics projector, after a database outage). So a task still running
a while after its cancellation is cancelled again, and the fact logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("paysim.tasks")

# Long enough for a cancelled task's own clean-up (closing or returning a connection) to end
# before it is interrupted again.
RECANCEL_SECONDS = 1.0


async def stop_tasks(tasks: Iterable[asyncio.Task[Any] | None], recancel_seconds: float = RECANCEL_SECONDS) -> None:
    """Cancel ``tasks`` and wait until every one of them has ended; their outcomes are dropped."""
    running = [task for task in tasks if task is not None]
    pending = {task for task in running if not task.done()}
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=recancel_seconds)
        for task in pending:
            log.warning(
                "a task carried on after its cancellation; cancelling it again",
                extra={"fields": {"task": task.get_name(), "at": _where(task)}},
            )
            task.cancel()
    for task in running:
        if not task.cancelled():
            task.exception()  # retrieved: asyncio would otherwise log it as never retrieved


def _where(task: asyncio.Task[Any]) -> str:
    frames = task.get_stack(limit=1)
    return f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}" if frames else "?"
