"""The calls a server process is working on, so that shutting down can drain them.

A call counts from the moment the server starts on it until both its work is over and gRPC has
finished the call. The work of a unary call may go on after its client gave up or gRPC cancelled it
(``finish_before_cancel``: the server finishes what it started); and a reply is only on its way
once the work has returned, so stopping gRPC's server as soon as the work is over could cancel a
call whose answer was ready but not yet sent. Shutdown waits for that work before the database is closed: closing it
underneath would strand a transaction on a connection nobody will ever close, which on SQLite is a
write lock that keeps every later process out of the database.

Health checks are not counted and are never refused: probes keep getting an answer, NOT_SERVING,
for as long as the drain lasts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from paysim.domain.errors import Unavailable

HEALTH_METHODS = "/grpc.health.v1.Health/"

# gRPC can report a call finished before its transport has written the reply: cancelling every
# call in that moment (gRPC's own stop) sends the cancellation in the reply's place. A Login
# drained at SIGTERM once reached its client as "Cancelling all calls" that way. The stop therefore
# waits until the last call ended this long ago; calls arriving meanwhile are still refused with
# SERVER_SHUTTING_DOWN, which clients retry.
SETTLE_SECONDS = 0.05


def shutting_down() -> Unavailable:
    return Unavailable(
        "the server is shutting down; retry (another server, or this one once it is back)",
        retry_after_seconds=1.0,
        reason="SERVER_SHUTTING_DOWN",
    )


class CallEnd(Protocol):
    """The part of a gRPC servicer context that says when the call is over."""

    def add_done_callback(self, callback: Any) -> None: ...


class CallsInFlight:
    def __init__(
        self,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._now = now
        self._sleep = sleep
        self._last_ended = float("-inf")
        self._tasks: set[asyncio.Task[object]] = set()
        self._open: set[object] = set()  # calls gRPC has not finished yet, work done or not
        self._idle = asyncio.Event()
        self._idle.set()
        self._refusing = False

    @property
    def count(self) -> int:
        return max(len(self._tasks), len(self._open))

    def refuse_new(self) -> None:
        """From now on a new call (other than a health check) is answered UNAVAILABLE, reason
        SERVER_SHUTTING_DOWN, before any work starts."""
        self._refusing = True

    @contextmanager
    def call(self, method: str, end: CallEnd) -> Iterator[None]:
        """The scope of one call's work, run by the task doing it; ``end`` is the call's context,
        which tells when gRPC has finished the call itself."""
        if method.startswith(HEALTH_METHODS):
            yield
            return
        if self._refusing:
            raise shutting_down()
        task = asyncio.current_task()
        assert task is not None
        token = object()
        self._open.add(token)
        end.add_done_callback(lambda _context: self._ended(self._open, token))
        self._tasks.add(task)
        self._idle.clear()
        try:
            yield
        finally:
            self._ended(self._tasks, task)

    def _ended(self, members: set[Any], member: object) -> None:
        members.discard(member)
        if not self._tasks and not self._open:
            self._idle.set()
            self._last_ended = self._now()

    async def wait_idle(self, seconds: float) -> bool:
        """Wait until no call is in flight, at most ``seconds``. True if none is."""
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def settle(self, seconds: float = SETTLE_SECONDS) -> None:
        """Once idle, until the last call ended ``seconds`` ago: its reply has left the process."""
        remaining = self._last_ended + seconds - self._now()
        if remaining > 0:
            await self._sleep(remaining)

    async def cancel_all(self) -> None:
        """Cancel the work still in flight and wait until it has cleaned up after itself."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
