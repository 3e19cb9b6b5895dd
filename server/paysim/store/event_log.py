"""Reading the payment event store in global sequence order, for event streams.

Outside any unit of work: these are short read-only statements on a connection of their own,
issued by the process's shared feed reader and by subscribers replaying history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.store.database import READ_ONLY
from paysim.store.event_horizon import Snapshot
from paysim.store.pg_event_reads import PgEventReads
from paysim.store.schema import payment_events, payments
from paysim.store.unit_of_work import is_connectivity_error, unavailable


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One committed event as streams see it. ``data_json`` stays text until someone needs it."""

    seq: int
    id: str
    type: str
    payment_id: str
    merchant_id: str
    customer_id: str
    version: int
    data_json: str
    created_at: datetime

    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.data_json)
        return loaded


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a stream receives. ``customer_ids`` None means any customer; a set, only
    payments of those customers (empty: none)."""

    payment_id: str | None = None
    merchant_id: str | None = None
    customer_ids: frozenset[str] | None = None
    types: frozenset[str] = frozenset()

    def matches(self, event: LoggedEvent) -> bool:
        return (
            (self.payment_id is None or event.payment_id == self.payment_id)
            and (self.merchant_id is None or event.merchant_id == self.merchant_id)
            and (self.customer_ids is None or event.customer_id in self.customer_ids)
            and (not self.types or event.type in self.types)
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """The same test as ``matches``, in SQL."""
        e = payment_events.c
        found: list[ColumnElement[bool]] = []
        if self.payment_id is not None:
            found.append(e.aggregate_id == self.payment_id)
        if self.merchant_id is not None:
            found.append(e.merchant_id == self.merchant_id)
        if self.customer_ids is not None:
            found.append(payments.c.customer_id.in_(sorted(self.customer_ids)))
        if self.types:
            found.append(e.type.in_(sorted(self.types)))
        return found


def _select() -> Select[Any]:
    e = payment_events.c
    return select(
        e.seq, e.id, e.type, e.aggregate_id, e.merchant_id, payments.c.customer_id, e.version, e.data_json, e.created_at
    ).select_from(payment_events.join(payments, payments.c.id == e.aggregate_id))


def _event(row: Any) -> LoggedEvent:
    return LoggedEvent(
        row.seq, row.id, row.type, row.aggregate_id, row.merchant_id, row.customer_id, row.version, row.data_json,
        row.created_at,
    )  # fmt: skip


# Rows after a position with the snapshot they were read in, in one statement (see
# event_horizon: the two must agree). The LEFT JOIN returns the snapshot even when no row is new.
# Plain text with psycopg's parameters: sent as they are, through SQLAlchemy or on a pool
# connection of the payment pool (store/pg_event_reads.py).
_PG_READ_NEW = (
    "SELECT s.snap, e.seq, e.id, e.type, e.aggregate_id, e.merchant_id, e.customer_id, e.version,"
    " e.data_json, e.created_at"
    " FROM (SELECT pg_current_snapshot()::text AS snap) AS s LEFT JOIN LATERAL ("
    "  SELECT ev.seq, ev.id, ev.type, ev.aggregate_id, ev.merchant_id, p.customer_id, ev.version,"
    "   ev.data_json, ev.created_at"
    "  FROM payment_events AS ev JOIN payments AS p ON p.id = ev.aggregate_id"
    "  WHERE ev.seq > %(after)s ORDER BY ev.seq LIMIT %(limit)s) AS e ON true"
)
_PG_SEQS_NEW = (
    "SELECT s.snap, e.seq FROM (SELECT pg_current_snapshot()::text AS snap) AS s LEFT JOIN LATERAL ("
    " SELECT seq FROM payment_events WHERE seq > %(after)s ORDER BY seq LIMIT %(limit)s) AS e ON true"
)
# The transactions (32-bit xids) holding any lock on this schema's event table: whoever holds a
# seq does, from before it took the seq until it ends (see event_horizon).
_PG_EVENT_WRITERS = (
    "SELECT DISTINCT x.transactionid::text FROM pg_locks AS r JOIN pg_locks AS x"
    " ON x.virtualtransaction = r.virtualtransaction AND x.locktype = 'transactionid'"
    " AND x.mode = 'ExclusiveLock' AND x.granted"
    " WHERE r.locktype = 'relation' AND r.relation = 'payment_events'::regclass"
    " AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_PG_SNAPSHOT_AND_NEWEST = "SELECT pg_current_snapshot()::text, (SELECT max(seq) FROM payment_events)"
_PG_SNAPSHOT = "SELECT pg_current_snapshot()::text"


class EventLog:
    """``pg_reads``: PostgreSQL's frequent reads go there instead of through the engine."""

    def __init__(self, engine: AsyncEngine, pg_reads: PgEventReads | None = None) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._pg_reads = pg_reads if self._postgres else None

    async def _pg_rows(self, sql: str, params: dict[str, Any] | None = None) -> Sequence[Any]:
        if self._pg_reads is not None:
            return await self._pg_reads.rows(sql, params)
        return await self._rows(sql, params)

    async def _rows(self, statement: Any, params: dict[str, Any] | None = None) -> Sequence[Any]:
        """``statement``: a SQLAlchemy statement, or PostgreSQL text with psycopg's parameters."""
        try:
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(**READ_ONLY)
                if isinstance(statement, str):
                    rows = (await conn.exec_driver_sql(statement, params)).all()
                else:
                    rows = (await conn.execute(statement, params or {})).all()
                await conn.rollback()
                return rows
        except (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError) as error:
            # TimeoutError: no pooled connection came free in time, which is not a bug either.
            if is_connectivity_error(error):
                raise unavailable(error) from error
            raise

    async def newest(self) -> tuple[int, Snapshot | None]:
        """The highest seq committed so far, and on PostgreSQL the snapshot it was read in, with
        its writers."""
        if self._postgres:
            row = (await self._pg_rows(_PG_SNAPSHOT_AND_NEWEST))[0]
            return int(row[1] or 0), await self._with_writers(Snapshot.parse(row[0]))
        row = (await self._rows(select(func.max(payment_events.c.seq))))[0]
        return int(row[0] or 0), None

    async def snapshot(self) -> Snapshot | None:
        if not self._postgres:
            return None
        return Snapshot.parse((await self._pg_rows(_PG_SNAPSHOT))[0][0])

    async def read_new(
        self, after: int, limit: int, *, details: bool
    ) -> tuple[list[LoggedEvent], list[int], Snapshot | None]:
        """Up to ``limit`` events after ``after`` in seq order, with the snapshot they were read in.

        Without ``details`` only the seqs are read (nobody is listening: the position must still
        move on), and the event list is empty.
        """
        if not self._postgres:
            if not details:
                query = select(payment_events.c.seq).where(payment_events.c.seq > after)
                rows = await self._rows(query.order_by(payment_events.c.seq).limit(limit))
                return [], [r.seq for r in rows], None
            rows = await self._rows(
                _select().where(payment_events.c.seq > after).order_by(payment_events.c.seq).limit(limit)
            )
            events = [_event(r) for r in rows]
            return events, [e.seq for e in events], None
        rows = await self._pg_rows(_PG_READ_NEW if details else _PG_SEQS_NEW, {"after": after, "limit": limit})
        snapshot = Snapshot.parse(rows[0][0])
        seqs = [r.seq for r in rows if r.seq is not None]
        if seqs and seqs[-1] - after != len(seqs):  # a gap: who may still fill it
            snapshot = await self._with_writers(snapshot)
        if not details:
            return [], seqs, snapshot
        return [_event(r) for r in rows if r.seq is not None], seqs, snapshot

    async def _with_writers(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` with the transactions that hold a lock on the event table now, after it."""
        if not snapshot.in_progress:
            return snapshot.with_writers(frozenset())
        return snapshot.with_writers(frozenset(int(r[0]) for r in await self._pg_rows(_PG_EVENT_WRITERS)))

    async def seqs_after(self, after: int, limit: int) -> list[int]:
        """The seqs committed (visible) after ``after``, oldest first."""
        e = payment_events.c
        return [r.seq for r in await self._rows(select(e.seq).where(e.seq > after).order_by(e.seq).limit(limit))]

    async def read_range(self, after: int, upto: int, f: EventFilter, limit: int) -> list[LoggedEvent]:
        """Matching events with ``after < seq <= upto``, oldest first: history that is settled."""
        e = payment_events.c
        query = _select().where(e.seq > after, e.seq <= upto, *f.conditions()).order_by(e.seq).limit(limit)
        return [_event(r) for r in await self._rows(query)]
