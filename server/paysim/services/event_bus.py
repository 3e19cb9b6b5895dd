"""The announcement that payment events were committed: "read the event store again".

It carries no events. Readers always take events from the store, from their own position, so a
lost or coalesced announcement delays an event (until the next announcement or the feed's
periodic read, PAYSIM_EVENT_POLL_SECONDS) but can never lose or reorder one.

- ``InProcessBus`` (SQLite, the embedded default): one process, so a unit of work announces its
  own commits directly. The embedded database serves a single process.
- ``PostgresBus``: a commit wakes this process's feed at once, in-process, and one NOTIFY on the
  database's channel tells every other process, each of which LISTENs on a connection of its
  own. The NOTIFY is sent after the commit, from a connection of its own, and coalesces all the
  commits made while the previous one was on its way (at most one in flight per process). It is
  deliberately not part of the payment transaction, although that would save a round trip:
  PostgreSQL serializes the commits of notifying transactions with a database-wide lock held
  across the WAL flush, which measured here cost the payment hot path a third of its
  throughput. A process that dies between its commit and its NOTIFY delays the other
  processes' streams until their next periodic read; nothing is lost.

PostgreSQL rather than Redis pub/sub: the events live in PostgreSQL, every process already
talks to it, and it needs no other service to be up for streams to work. Redis, when
configured, is not used for this.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from psycopg import sql

from paysim.services.event_wait import wait_set
from paysim.services.task_stopping import stop_tasks
from paysim.store import pg_connection
from paysim.store.event_channel import CHANNEL_SQL, NOTIFY_SQL
from paysim.store.pg_connection import BoundedAsyncConnection, DatabaseLimits, conninfo

log = logging.getLogger("paysim.events")

Wake = Callable[[], None]


class EventBus(Protocol):
    def listen(self, wake: Wake) -> None:
        """Call ``wake`` (from the event loop) whenever events may have been committed."""

    def committed(self) -> None:
        """This process committed payment events."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class InProcessBus:
    def __init__(self) -> None:
        self._listeners: list[Wake] = []

    def listen(self, wake: Wake) -> None:
        self._listeners.append(wake)

    def committed(self) -> None:
        for wake in self._listeners:
            wake()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class PostgresBus:
    """LISTEN on one connection, NOTIFY from another; both re-established after any failure."""

    def __init__(self, database_url: str, limits: DatabaseLimits, *, retry_seconds: float = 1.0) -> None:
        self._conninfo = conninfo(database_url)
        self._limits = limits
        self._retry_seconds = retry_seconds
        self._listeners: list[Wake] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._to_announce = asyncio.Event()
        self._notifier_pid = 0  # our own NOTIFYs come back to our LISTEN: ignore them
        self.listening = asyncio.Event()
        self.announcements = 0

    def listen(self, wake: Wake) -> None:
        self._listeners.append(wake)

    def committed(self) -> None:
        self._wake()
        self._to_announce.set()

    def _wake(self) -> None:
        for wake in self._listeners:
            wake()

    async def _connect(self) -> BoundedAsyncConnection:
        # Bounded waits, and TCP keepalives: a silently dropped connection is noticed and replaced.
        return await pg_connection.connect(self._conninfo, self._limits, autocommit=True)

    @staticmethod
    async def _channel(conn: BoundedAsyncConnection) -> str:
        row = await (await conn.execute(CHANNEL_SQL)).fetchone()
        assert row is not None
        return str(row[0])

    async def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._forever(self._listen_once), name="paysim-event-listener"),
            asyncio.create_task(self._forever(self._announce_until_closed), name="paysim-event-notifier"),
        ]
        # Listen before anyone reads a starting position, or a commit in between would wait
        # for the periodic read.
        await wait_set(self.listening, 10)

    async def close(self) -> None:
        self._stopping = True  # ends the loops even if a cancellation is lost (task_stopping.py)
        tasks, self._tasks = self._tasks, []
        await stop_tasks(tasks)

    async def _forever(self, run: Callable[[], Awaitable[None]]) -> None:
        while not self._stopping:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("event bus connection lost", extra={"fields": {"error": type(error).__name__}})
            await asyncio.sleep(self._retry_seconds)

    async def _listen_once(self) -> None:
        async with await self._connect() as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(await self._channel(conn))))
            # From here on it waits for notifications, for as long as none come: a peer that died
            # is noticed by the keepalives, and the feed's periodic read covers the meantime.
            conn.answer_seconds = None
            self.listening.set()
            try:
                # Anything committed while nobody listened is read now.
                self._wake()
                async for notice in conn.notifies():
                    if notice.pid != self._notifier_pid:
                        self._wake()
            finally:
                self.listening.clear()

    async def _announce_until_closed(self) -> None:
        async with await self._connect() as conn:
            channel = await self._channel(conn)
            self._notifier_pid = conn.info.backend_pid
            # A round may have been lost with the previous connection: announce once more.
            self._to_announce.set()
            while True:
                await self._to_announce.wait()
                # Cleared before sending: a commit from now on is announced by the next round.
                self._to_announce.clear()
                await conn.execute(NOTIFY_SQL, (channel,))
                self.announcements += 1
