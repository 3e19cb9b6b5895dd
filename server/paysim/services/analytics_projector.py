"""The analytics projector: counts the event store's events into the read model, in seq order.

Every server process runs one. Each round reads the events after the stored checkpoint and
writes their counts with the checkpoint moved by compare-and-set (store/analytics_writer.py), so
a round that lost the race to another process writes nothing and simply reads again: no event
is counted twice, and a process that stops mid-round leaves the checkpoint where it was.

On PostgreSQL a seq taken earlier may commit later (store/event_horizon.py): the checkpoint
moves only over settled seqs. The projector is woken by the event bus that wakes event streams
(every commit in this process, NOTIFY from the others) and also reads every ``poll_seconds``.
"""

from __future__ import annotations

import asyncio
import logging

from paysim.domain.analytics import StoredEvent
from paysim.domain.errors import Unavailable
from paysim.services.clock import Clock
from paysim.services.event_bus import EventBus
from paysim.services.event_wait import wait_set
from paysim.services.task_stopping import stop_tasks
from paysim.store.analytics_writer import AnalyticsWriter
from paysim.store.event_horizon import SequenceHorizon
from paysim.store.event_log import EventLog, LoggedEvent

GATHER_SECONDS = 0.25

log = logging.getLogger("paysim.analytics")

BATCH = 1000


def stored(event: LoggedEvent) -> StoredEvent:
    return StoredEvent(event.seq, event.type, event.payment_id, event.merchant_id, event.data(), event.created_at)


class AnalyticsProjector:
    def __init__(
        self, events: EventLog, writer: AnalyticsWriter, bus: EventBus, clock: Clock, *, poll_seconds: float
    ) -> None:
        self._events = events
        self._writer = writer
        self._bus = bus
        self._clock = clock
        self._poll = poll_seconds
        self._horizon: SequenceHorizon | None = None
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._woken.set()

    async def run_once(self) -> bool:
        """One round. True when it moved the checkpoint (there may be more to read)."""
        async with self._lock:
            if self._horizon is None:
                # Known from the last round otherwise: if another process has moved the
                # checkpoint since, this round's compare-and-set fails and the next one reads it.
                self._horizon = SequenceHorizon(await self._writer.position())
            horizon = self._horizon
            old = horizon.position
            events, seqs, snapshot = await self._events.read_new(old, BATCH, details=True)
            deliverable = horizon.advance(seqs, snapshot)
            if horizon.position == old:
                return False
            batch = [stored(e) for e in events[:deliverable]]
            if await self._writer.apply(old, horizon.position, batch, self._clock()):
                return True
            self._horizon = None  # another process counted them: start from its checkpoint
            return True

    async def catch_up(self) -> None:
        """Count every event committed so far (and settled)."""
        while await self.run_once():
            pass

    async def rebuild(self) -> None:
        """Forget the read model and count every event again."""
        async with self._lock:
            await self._writer.rebuild(self._clock())
            self._horizon = None
        await self.catch_up()

    def start(self) -> None:
        self._bus.listen(self.wake)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="paysim-analytics")

    async def stop(self) -> None:
        self._stopping = True  # ends the loop even if its cancellation is lost (task_stopping.py)
        task, self._task = self._task, None
        await stop_tasks([task])

    async def _run(self) -> None:
        while not self._stopping:
            self._woken.clear()
            try:
                await self.catch_up()
            except Unavailable as error:  # the database is away or busy: try again next round
                log.warning("analytics round failed", extra={"fields": {"reason": error.reason}})
            except Exception:  # the read model must never take the server down
                log.exception("analytics round failed")
            waiting = self._horizon is not None and self._horizon.waiting
            await wait_set(self._woken, 0.05 if waiting else self._poll)
            # A read model may lag a moment: a busy server's commits are counted a batch at a
            # time, not each on its own (a round costs several statements whatever its size).
            await asyncio.sleep(GATHER_SECONDS)
