"""The analytics projector's rounds on PostgreSQL, through psycopg on the payment pool.

A round is the same transaction as ``AnalyticsWriter.apply`` (the advisory lock, the checkpoint's
compare-and-set, the payments' stored rows, the counts), with the same statements; through
SQLAlchemy its statement building, result processing and greenlet switches cost about a fifth of
the projector's CPU, which on a busy server is a tenth of a payment's. Here the reads run at once
and the writes go in one pipeline with the COMMIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.domain import analytics as model
from paysim.store.analytics_writer import ADVISORY_KEY, CHECKPOINT, AnalyticsWriter, payment_row, pg_writes
from paysim.store.pg_connection import BoundedAsyncConnection
from paysim.store.pg_pool import discard_connection, take_connection
from paysim.store.unit_of_work import end_transaction, is_connectivity_error

_LOCK = "SELECT pg_try_advisory_xact_lock(%s)"
_MOVE = "UPDATE analytics_checkpoints SET position = %s, updated_at = %s WHERE name = %s AND position = %s"
_EXISTS = "SELECT 1 FROM analytics_checkpoints WHERE name = %s"
_FIRST = "INSERT INTO analytics_checkpoints (name, position, updated_at) VALUES (%s, %s, %s)"
_ROWS = "SELECT * FROM analytics_payments WHERE id = ANY(%s)"


class _Lost(Exception):
    """Another process moved the checkpoint first: roll back."""


class PgAnalyticsWriter(AnalyticsWriter):
    def __init__(self, engine: AsyncEngine, pool: AsyncConnectionPool[BoundedAsyncConnection]) -> None:
        super().__init__(engine)
        self._pool = pool

    async def apply(self, old: int, new: int, events: Sequence[model.StoredEvent], now: datetime) -> bool:
        conn = await take_connection(self._pool)
        error: BaseException | None = None
        committed = False
        try:
            await self._count(conn, old, new, events, now)
            committed = True
            return True
        except _Lost:  # nothing written: the transaction is rolled back below
            return False
        except BaseException as caught:
            error = caught
            raise
        finally:

            async def discard() -> None:
                await discard_connection(self._pool, conn, cut_off=error is not None and is_connectivity_error(error))

            async def release() -> None:
                await self._pool.putconn(conn)

            await end_transaction(error, committed, discard=discard, rollback=conn.rollback, release=release)

    async def _count(
        self,
        conn: BoundedAsyncConnection,
        old: int,
        new: int,
        events: Sequence[model.StoredEvent],
        now: datetime,
    ) -> None:
        """Count ``events`` and move the checkpoint, committed; ``_Lost`` (nothing written) when
        another process holds the round's lock or has moved the checkpoint."""
        locked = await (await conn.execute(_LOCK, (ADVISORY_KEY,))).fetchone()
        if locked is None or not locked[0]:
            raise _Lost
        moved = await conn.execute(_MOVE, (new, now, CHECKPOINT, old))
        if moved.rowcount != 1:
            if old != 0 or await (await conn.execute(_EXISTS, (CHECKPOINT,))).fetchone() is not None:
                raise _Lost
            await conn.execute(_FIRST, (CHECKPOINT, new, now))
        known = await _stored_rows(conn, sorted({e.payment_id for e in events}))
        writes = pg_writes(model.fold_all(events, known), fresh=False)
        async with conn.pipeline():
            for sql, params in writes:
                await conn.execute(sql, params)
            await conn.commit()


async def _stored_rows(conn: BoundedAsyncConnection, ids: list[str]) -> dict[str, model.PaymentRow]:
    if not ids:
        return {}
    async with conn.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(_ROWS, (ids,))
        rows: list[Any] = await cursor.fetchall()
        return {r.id: payment_row(_in_utc(r)) for r in rows}


def _in_utc(row: Any) -> Any:
    """The row with its times in UTC, as SQLAlchemy's ``UtcDateTime`` gives them."""
    return row._replace(
        authorized_at=row.authorized_at.astimezone(UTC) if row.authorized_at is not None else None,
        created_at=row.created_at.astimezone(UTC),
    )
