"""Stopping background tasks.

A cancellation can be lost: on Python 3.11 ``asyncio.wait_for`` returns normally when what it
waits for finishes just as its task is cancelled, and libraries use it where paysim cannot see.
A background loop that loses its cancellation would carry on for ever, and the shutdown awaiting
its end with it (seen once: the analytics projector, after a database outage). So each loop also
checks a stopping flag its owner sets before cancelling it, and ends at its next round.

A task is never cancelled twice: one still running after its cancellation is most often in its
clean-up (a connection being rolled back or closed, on SQLite behind another's write lock), and
interrupting that would strand the connection. A task still running after ``patience`` seconds is
logged once, with where it stands, and waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("paysim.tasks")

PATIENCE_SECONDS = 10.0


async def stop_tasks(tasks: Iterable[asyncio.Task[Any] | None], patience: float = PATIENCE_SECONDS) -> None:
    """Cancel ``tasks`` once and wait until every one of them has ended; their outcomes are dropped."""
    running = [task for task in tasks if task is not None]
    pending = {task for task in running if not task.done()}
    for task in pending:
        task.cancel()
    if pending:
        _, pending = await asyncio.wait(pending, timeout=patience)
        for task in pending:
            log.warning(
                "a task is still running after its cancellation; waiting for it",
                extra={"fields": {"task": task.get_name(), "at": _where(task), "seconds": patience}},
            )
        if pending:
            await asyncio.wait(pending)
    for task in running:
        if not task.cancelled():
            task.exception()  # retrieved: asyncio would otherwise log it as never retrieved


def _where(task: asyncio.Task[Any]) -> str:
    frames = task.get_stack(limit=1)
    return f"{frames[0].f_code.co_filename}:{frames[0].f_lineno}" if frames else "?"
