"""When idle event streams send their heartbeats: one timer for all the streams of a process.

A stream that waited for its next event under a timeout of its own armed and cancelled a timer
at every wake-up, once per delivered event for each of ten thousand streams: about a tenth of
what delivering an event to a stream cost. Instead one task looks at every stream a tenth of a
heartbeat interval apart and wakes those that have sent nothing for a whole interval, so an idle
stream's heartbeats come between one and 1.1 intervals apart.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from paysim.services.task_stopping import stop_tasks

# Looks per interval: how late past its interval a heartbeat may come, as a fraction of it.
TICKS_PER_INTERVAL = 10


class Beating(Protocol):
    last_sent: float
    """The event loop's time when the stream last sent a message."""

    def beat(self) -> None:
        """Send a heartbeat next."""


class Heartbeats:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._streams: dict[Beating, None] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, stream: Beating) -> None:
        self._streams[stream] = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="paysim-stream-heartbeats")

    def remove(self, stream: Beating) -> None:
        self._streams.pop(stream, None)

    async def close(self) -> None:
        task, self._task = self._task, None
        await stop_tasks([task])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._streams:
                await asyncio.sleep(self.seconds / TICKS_PER_INTERVAL)
                due = loop.time() - self.seconds
                for stream in list(self._streams):
                    if stream.last_sent <= due:
                        stream.beat()
        finally:
            if self._task is asyncio.current_task():
                self._task = None  # the next stream to come starts another
