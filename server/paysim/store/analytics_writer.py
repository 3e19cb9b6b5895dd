"""Writing the analytics read model: one batch of events per transaction, exactly once.

The batch's counters, its payment rows and the new checkpoint are written in one transaction
that begins by moving the checkpoint with a compare-and-set (``position = old``). Two processes
that read the same batch cannot both count it: the second one's update finds the position moved
(PostgreSQL re-checks the condition once the first commits; SQLite takes the write lock at
BEGIN) and it rolls back. On PostgreSQL a transaction-scoped advisory lock makes the loser give
up at once instead of waiting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from paysim.domain import analytics as model
from paysim.store.batch_upsert import ROWS_PER_STATEMENT, counter_upsert_sql, json_records, json_rows, replace_rows_sql
from paysim.store.schema import (
    analytics_checkpoints,
    analytics_gateway_buckets,
    analytics_payment_buckets,
    analytics_payments,
)
from paysim.store.unit_of_work import is_connectivity_error, unavailable

CHECKPOINT = "payments"
# Any constant shared by every paysim process: the key of the projector's advisory lock.
ADVISORY_KEY = 0x70A7_A1C5
_READ_MODEL = (analytics_gateway_buckets, analytics_payment_buckets, analytics_payments)
_ROW_COLUMNS = tuple(c.name for c in analytics_payments.columns)
# A counter table, its key and counter columns, its rows' counts and their largest latencies.
_CounterTable = tuple[Any, tuple[str, ...], tuple[str, ...], Iterable[tuple[Any, Mapping[str, int]]], Mapping[Any, int]]
_PAYMENT_KEYS = ("merchant_id", "size", "dimension", "value", "start")
_GATEWAY_KEYS = ("merchant_id", "size", "gateway", "start")


def row_values(row: model.PaymentRow) -> dict[str, Any]:
    values = {c.name: getattr(row, c.name) for c in analytics_payments.columns if c.name != "refunds_json"}
    values["refunds_json"] = json.dumps({"pending": dict(row.refunds), "refunded": row.refunded_amount})
    return values


def payment_row(r: Any) -> model.PaymentRow:
    refunds = json.loads(r.refunds_json)
    values = {c.name: getattr(r, c.name) for c in analytics_payments.columns if c.name != "refunds_json"}
    return model.PaymentRow(**values, refunds=refunds["pending"], refunded_amount=int(refunds["refunded"]))


def counter_rows(
    changes: model.Changes,
) -> Iterator[tuple[Any, tuple[str, ...], tuple[str, ...], list[tuple[Any, ...]], str]]:
    """Per counter table with counts to add: the table, its key and counter columns, the rows
    (keys, counts and, where kept, the largest latency) and the name of that maximum column."""
    tables: tuple[_CounterTable, ...] = (
        (analytics_payment_buckets, _PAYMENT_KEYS, model.PAYMENT_COUNTERS, changes.payment_buckets.items(), {}),
        (
            analytics_gateway_buckets,
            _GATEWAY_KEYS,
            model.GATEWAY_COUNTERS,
            changes.gateway_buckets.items(),
            changes.gateway_max_latency,
        ),
    )
    for table, key_names, counters, deltas, maxima in tables:
        rows = [
            (*key, *(counts.get(name, 0) for name in counters), *((maxima.get(key, 0),) if maxima else ()))
            for key, counts in deltas
        ]
        if rows:
            yield table, key_names, counters, rows, "latency_max_ms" if maxima else ""


def pg_writes(changes: model.Changes, *, fresh: bool) -> list[tuple[str, tuple[str]]]:
    """PostgreSQL's statements for ``changes``: each with one JSON parameter, whatever the number
    of rows (store/batch_upsert.py)."""
    writes: list[tuple[str, tuple[str]]] = []
    if changes.rows:
        sql = replace_rows_sql(analytics_payments.name, _ROW_COLUMNS, "id", fresh=fresh)
        writes.append((sql, (json_records([row_values(r) for r in changes.rows.values()]),)))
    for table, key_names, counters, rows, maximum in counter_rows(changes):
        sql = counter_upsert_sql(table.name, key_names, counters, maximum, 0, postgres=True, fresh=fresh)
        columns = (*key_names, *counters, *((maximum,) if maximum else ()))
        writes.append((sql, (json_rows(columns, rows),)))
    return writes


class AnalyticsWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._statements: dict[bool, Any] = {}

    async def position(self) -> int:
        async with self._guard(), self._engine.connect() as conn:
            found = await conn.scalar(
                select(analytics_checkpoints.c.position).where(analytics_checkpoints.c.name == CHECKPOINT)
            )
            await conn.rollback()
        return int(found or 0)

    async def apply(self, old: int, new: int, events: Sequence[model.StoredEvent], now: datetime) -> bool:
        """Count ``events`` (every settled event with ``old < seq <= new``) and move the checkpoint
        from ``old`` to ``new``. False when another process had moved it: nothing is written."""
        try:
            async with self._guard(), self._engine.begin() as conn:
                if self._postgres and not await conn.scalar(select(func.pg_try_advisory_xact_lock(ADVISORY_KEY))):
                    raise _Lost
                if not await self._move_checkpoint(conn, old, new, now):
                    raise _Lost
                known = await self._rows(conn, sorted({e.payment_id for e in events}))
                await self._write(conn, model.fold_all(events, known))
        except _Lost:
            return False
        return True

    async def write_new(self, changes: model.Changes) -> None:
        """Insert counts and rows that are not stored yet, outside any checkpoint: for filling a
        scratch database quickly (the bench)."""
        async with self._guard(), self._engine.begin() as conn:
            await self._write(conn, changes, fresh=True)

    async def rebuild(self, now: datetime) -> None:
        """Forget everything counted: the projector counts every event again from the start."""
        async with self._guard(), self._engine.begin() as conn:
            for table in _READ_MODEL:
                await conn.execute(delete(table))
            await conn.execute(delete(analytics_checkpoints))
            await conn.execute(insert(analytics_checkpoints).values(name=CHECKPOINT, position=0, updated_at=now))

    async def _move_checkpoint(self, conn: AsyncConnection, old: int, new: int, now: datetime) -> bool:
        c = analytics_checkpoints.c
        moved = await conn.execute(
            update(analytics_checkpoints)
            .where(c.name == CHECKPOINT, c.position == old)
            .values(position=new, updated_at=now)
        )
        if moved.rowcount == 1:
            return True
        if old != 0:
            return False
        exists = await conn.scalar(select(c.position).where(c.name == CHECKPOINT))
        if exists is not None:
            return False
        await conn.execute(insert(analytics_checkpoints).values(name=CHECKPOINT, position=new, updated_at=now))
        return True

    async def _rows(self, conn: AsyncConnection, ids: list[str]) -> dict[str, model.PaymentRow]:
        found: dict[str, model.PaymentRow] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await conn.execute(select(analytics_payments).where(analytics_payments.c.id.in_(chunk)))
            found.update((r.id, payment_row(r)) for r in rows)
        return found

    async def _write(self, conn: AsyncConnection, changes: model.Changes, *, fresh: bool = False) -> None:
        if self._postgres:
            for sql, params in pg_writes(changes, fresh=fresh):
                await conn.exec_driver_sql(sql, params)
            return
        if changes.rows:
            await conn.execute(self._rows_statement(fresh), [row_values(r) for r in changes.rows.values()])
        for table, key_names, counters, rows, maximum in counter_rows(changes):
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start : start + ROWS_PER_STATEMENT]
                sql = counter_upsert_sql(
                    table.name, key_names, counters, maximum, len(chunk), postgres=False, fresh=fresh
                )
                await conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row))

    def _rows_statement(self, fresh: bool) -> Any:
        """SQLite's upsert of payment rows (every column replaced), built once per writer."""
        cached = self._statements.get(fresh)
        if cached is None:
            stmt = sqlite.insert(analytics_payments)
            replaced = {c.name: stmt.excluded[c.name] for c in analytics_payments.columns if c.name != "id"}
            cached = stmt if fresh else stmt.on_conflict_do_update(index_elements=["id"], set_=replaced)
            self._statements[fresh] = cached
        return cached

    def _guard(self) -> _Connectivity:
        return _Connectivity()


class _Lost(Exception):
    """Another process moved the checkpoint first: roll back."""


class _Connectivity:
    """Turns a lost database into the domain's UNAVAILABLE, like every other store."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: Any, error: BaseException | None, tb: Any) -> bool:
        if isinstance(error, sa_exc.DBAPIError | sa_exc.TimeoutError | OSError) and is_connectivity_error(error):
            raise unavailable(error) from error
        return False
