"""One shared reader of the event store per process, fanning new events out to every stream.

With a thousand open streams, one query per announcement that serves them all costs far less
than a query per stream. The feed reads in seq order from its position, only as far as is safe
(store/event_horizon.py: a sequence number taken earlier may commit later), and hands each
batch, with the position it reached, to every registered listener. A listener registered at
position P receives every event after P exactly once, in order.

It keeps the last ``recent`` events it handed out: a stream that reconnects with a recent cursor
catches up from memory, without a database connection. And it tells a stream that opens "from
now" where now is, from its next read: how far it got, and which events it saw committed beyond
that (behind a gap) — so that ten thousand streams opening at once cost no query of their own.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from paysim.services.event_bus import EventBus
from paysim.services.event_wait import wait_set
from paysim.services.task_stopping import stop_tasks
from paysim.store.event_horizon import SequenceHorizon
from paysim.store.event_log import EventLog, LoggedEvent

log = logging.getLogger("paysim.events")

READ_BATCH = 500
RECENT_EVENTS = 10_000
# How soon a gap is looked at again when no announcement comes (its writer rolled back).
GAP_RECHECK_SECONDS = 0.02
# How soon a failed read is tried again, announcement or not.
RETRY_SECONDS = 0.5
# The least time from one read's start to the next one's. Announcements and streams asking for
# "now" that arrive meanwhile share the next read: under a continuous stream of commits or of
# opening streams the feed reads at most this often instead of back to back (then a read served
# one or two of them and cost as much as the rest of a stream's opening), for at most this much
# more latency.
READ_SPACING_SECONDS = 0.01


def _describe(error: Exception) -> str:
    reason = getattr(error, "reason", None)
    return f"{type(error).__name__} {reason}" if reason else type(error).__name__


class FeedListener(Protocol):
    def deliver(self, events: Sequence[LoggedEvent], position: int) -> None:
        """Events after the previous position up to ``position`` (all of them, unfiltered)."""


class EventFeed:
    def __init__(
        self,
        events: EventLog,
        bus: EventBus,
        *,
        poll_seconds: float,
        batch: int = READ_BATCH,
        recent: int = RECENT_EVENTS,
    ) -> None:
        self._log = events
        self._bus = bus
        # A periodic read even without announcements: covers a lost listener connection and
        # writes from outside the server (paysim admin, another tool).
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._listeners: dict[FeedListener, None] = {}
        self._wake = asyncio.Event()
        self._horizon = SequenceHorizon(0)
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.reads = 0
        # Every event after ``_recent_from`` up to the position, oldest first.
        self._recent: deque[LoggedEvent] = deque()
        self._recent_seqs: deque[int] = deque()
        self._recent_max = recent
        self._recent_from = 0
        # Streams waiting for "now": answered after the first read that starts after they asked.
        self._now_waiters: list[asyncio.Future[tuple[int, frozenset[int] | None]]] = []
        self._now_reading: list[asyncio.Future[tuple[int, frozenset[int] | None]]] = []

    @property
    def position(self) -> int:
        """Every event up to here has been delivered (or had been committed before the start)."""
        return self._horizon.position

    def wake(self) -> None:
        self._wake.set()

    def add(self, listener: FeedListener) -> int:
        """Register ``listener``; it will receive every event after the returned position."""
        self._listeners[listener] = None
        return self.position

    async def now(self) -> tuple[int, frozenset[int] | None]:
        """Where a stream "from now" starts: the position of a read that started after this call,
        and the seqs that read saw committed beyond it (behind a gap that may still fill; a later
        commit below them is after now and arrives) — None when there were more than one read
        holds, for the caller to look up.

        Raises the read's error when it fails (the database is away or too busy)."""
        waiter = asyncio.get_running_loop().create_future()
        self._now_waiters.append(waiter)
        self.wake()
        return await asyncio.shield(waiter)

    def _answer_now(self, beyond: frozenset[int] | None, error: Exception | None = None) -> None:
        """Answer the streams waiting on the read that just ended (with ``error`` if it failed)."""
        for waiter in self._now_reading:
            if waiter.done():
                continue
            if error is not None:
                waiter.set_exception(error)
                waiter.exception()  # a waiter whose caller went away must not log it as unretrieved
            else:
                waiter.set_result((self.position, beyond))
        self._now_reading = []

    def recent_after(self, cursor: int) -> list[LoggedEvent] | None:
        """Every event after ``cursor`` up to the position, from memory; None when memory does
        not reach back that far (the caller reads the store)."""
        if cursor < self._recent_from or not self.ready.is_set():
            return None
        start = bisect.bisect_right(self._recent_seqs, cursor)
        return [self._recent[i] for i in range(start, len(self._recent))]

    def _remember(self, events: Sequence[LoggedEvent], details: bool) -> None:
        if not details:  # only seqs were read: memory no longer covers what came before
            self._recent.clear()
            self._recent_seqs.clear()
            self._recent_from = self.position
            return
        self._recent.extend(events)
        self._recent_seqs.extend(e.seq for e in events)
        while len(self._recent) > self._recent_max:
            self._recent.popleft()
            self._recent_from = self._recent_seqs.popleft()

    def remove(self, listener: FeedListener) -> None:
        self._listeners.pop(listener, None)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    async def start(self) -> None:
        self._bus.listen(self.wake)
        await self._bus.start()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="paysim-event-feed")

    async def close(self) -> None:
        self._stopping = True  # ends the loop even if its cancellation is lost (task_stopping.py)
        task, self._task = self._task, None
        await stop_tasks([task])
        await self._bus.close()

    async def _starting_position(self) -> int:
        """The newest seq, once every transaction that might still commit below it has ended
        (only those writing events: see store/event_horizon.py)."""
        newest, snapshot = await self._log.newest()
        blockers = snapshot.blockers if snapshot is not None else frozenset()
        while blockers:
            now = await self._log.snapshot()
            assert now is not None
            if all(now.finished(xid) for xid in blockers):
                break
            await asyncio.sleep(GAP_RECHECK_SECONDS)
        return newest

    async def _run(self) -> None:
        failing = False
        loop = asyncio.get_running_loop()
        last_read = -READ_SPACING_SECONDS
        while not self._stopping:
            spacing = last_read + READ_SPACING_SECONDS - loop.time()
            if spacing > 0:
                await asyncio.sleep(spacing)
            last_read = loop.time()
            try:
                if not self.ready.is_set():
                    self._horizon = SequenceHorizon(await self._starting_position())
                    self._recent_from = self.position
                    self.ready.set()
                self._wake.clear()
                # Whoever asked for "now" before this read started is answered by it.
                self._now_reading.extend(self._now_waiters)
                self._now_waiters = []
                self._answer_now(await self._read_all())
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # The database is away or every pooled connection busy: every stream depends on
                # this reader, so it tries again soon (a commit's announcement sooner still).
                self._answer_now(None, error)
                if not failing:
                    log.warning("event feed read failed", extra={"fields": {"error": _describe(error)}})
                failing = True
                await wait_set(self._wake, min(self._poll_seconds, RETRY_SECONDS))
                continue
            if failing:
                log.info("event feed reading again")
                failing = False
            timeout = GAP_RECHECK_SECONDS if self._horizon.waiting else self._poll_seconds
            await wait_set(self._wake, timeout)

    async def _read_all(self) -> frozenset[int] | None:
        """Read up to what is committed; the seqs seen committed beyond the position (None when
        a full batch of them waits behind a gap: there may be more than were read)."""
        while True:
            details = bool(self._listeners)
            events, seqs, snapshot = await self._log.read_new(self.position, self._batch, details=details)
            self.reads += 1
            if not details and self._listeners:
                continue  # someone registered meanwhile and needs these events: read them again
            before = self.position
            deliverable = self._horizon.advance(seqs, snapshot)
            if self.position != before:
                batch = events[:deliverable]
                self._remember(batch, details)
                for listener in list(self._listeners):
                    listener.deliver(batch, self.position)
            if len(seqs) < self._batch:
                return frozenset(seqs[deliverable:])
            if deliverable < len(seqs):
                return None
