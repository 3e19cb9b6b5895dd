"""The calls a server process is working on, so that shutting down can drain them.

A call counts from the moment the server starts on it until its work is over, which for a unary
call may be after its client gave up or gRPC cancelled it (``finish_before_cancel``: the server
finishes what it started). Shutdown waits for that work before the database is closed: closing it
underneath would strand a transaction on a connection nobody will ever close, which on SQLite is a
write lock that keeps every later process out of the database.

Health checks are not counted and are never refused: probes keep getting an answer, NOT_SERVING,
for as long as the drain lasts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from paysim.domain.errors import Unavailable

HEALTH_METHODS = "/grpc.health.v1.Health/"


def shutting_down() -> Unavailable:
    return Unavailable(
        "the server is shutting down; retry (another server, or this one once it is back)",
        retry_after_seconds=1.0,
        reason="SERVER_SHUTTING_DOWN",
    )


class CallsInFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._refusing = False

    @property
    def count(self) -> int:
        return len(self._tasks)

    def refuse_new(self) -> None:
        """From now on a new call (other than a health check) is answered UNAVAILABLE, reason
        SERVER_SHUTTING_DOWN, before any work starts."""
        self._refusing = True

    @contextmanager
    def call(self, method: str) -> Iterator[None]:
        """The scope of one call, run by the task doing its work."""
        if method.startswith(HEALTH_METHODS):
            yield
            return
        if self._refusing:
            raise shutting_down()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._idle.clear()
        try:
            yield
        finally:
            self._tasks.discard(task)
            if not self._tasks:
                self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until no call is in flight, at most ``seconds``. True if none is."""
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def cancel_all(self) -> None:
        """Cancel the work still in flight and wait until it has cleaned up after itself."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
