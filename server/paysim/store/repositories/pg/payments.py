"""The payment event store on the PostgreSQL payment unit of work: reads at once, every write
queued for the commit's pipeline, where the database assigns the events' sequence numbers."""

from __future__ import annotations

import functools
import json
from typing import Any

import psycopg

from paysim.domain import payment
from paysim.store.pg_batch import VERSION_GUARD, PgWriteBatch
from paysim.store.repositories.payments import (
    PaymentEventStore,
    StoredEvent,
    concurrency_conflict,
    dumps,
    projection_values,
)
from paysim.store.repositories.webhook_outbox import ENQUEUE_PG, enqueue_pg_params

_GET = "SELECT state_json FROM payments WHERE id = %s"
_INSERT_PAYMENT = (
    "INSERT INTO payments (id, merchant_id, customer_id, status, amount, currency, card_last4, in_progress,"
    " version, created_at, updated_at, state_json, test_clock_id, refund_settles_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_COLUMNS = (
    "merchant_id",
    "customer_id",
    "status",
    "amount",
    "currency",
    "card_last4",
    "in_progress",
    "version",
    "created_at",
    "updated_at",
    "state_json",
    "test_clock_id",
    "refund_settles_at",
)
_UPDATE_PAYMENT = (
    "UPDATE payments SET status = %s, in_progress = %s, version = %s, updated_at = %s, state_json = %s,"
    " refund_settles_at = %s WHERE id = %s AND version = %s"
)
_UPDATE_COLUMNS = ("status", "in_progress", "version", "updated_at", "state_json", "refund_settles_at")
_SNAPSHOT = (
    "INSERT INTO payment_snapshots (aggregate_id, version, state_json, created_at) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (aggregate_id) DO UPDATE SET version = EXCLUDED.version, state_json = EXCLUDED.state_json,"
    " created_at = EXCLUDED.created_at"
)
_DISPUTE_COLUMNS = ("id", "payment_id", "merchant_id", "status", "test_clock_id", "due_at", "created_at", "updated_at")
_PROJECT_DISPUTE = (
    "INSERT INTO disputes (id, payment_id, merchant_id, status, test_clock_id, due_at, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,"
    " test_clock_id = EXCLUDED.test_clock_id, due_at = EXCLUDED.due_at, updated_at = EXCLUDED.updated_at"
)
_EVENT_COLUMNS = ("id", "aggregate_id", "version", "type", "merchant_id", "data_json", "created_at")


@functools.cache
def _events_insert_sql(count: int) -> str:
    # Only column names and placeholders are composed into the text; every value is a bound parameter.
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * count)
    columns = ", ".join(_EVENT_COLUMNS)
    return f"INSERT INTO payment_events ({columns}) VALUES {placeholders} RETURNING version, seq"  # noqa: S608


class PgPaymentRepository(PaymentEventStore):
    def __init__(self, conn: psycopg.AsyncConnection[Any], batch: PgWriteBatch) -> None:
        self._conn = conn
        self._batch = batch

    async def get(self, payment_id: str, *, for_update: bool = False) -> payment.PaymentState | None:
        cur = await self._conn.execute(_GET + (" FOR UPDATE" if for_update else ""), (payment_id,))
        found = await cur.fetchone()
        return payment.from_dict(json.loads(found[0])) if found is not None else None

    async def _append(
        self,
        before: payment.PaymentState | None,
        after: payment.PaymentState,
        drafts: list[StoredEvent],
        rows: list[dict[str, Any]],
    ) -> list[StoredEvent]:
        """Queue the projection write, its version guard, the events and their webhook deliveries
        for the commit pipeline; the sequence numbers are the database's to give then."""
        values = projection_values(after)
        if before is None:
            self._batch.add(_INSERT_PAYMENT, (after.id, *(values[c] for c in _INSERT_COLUMNS)))
        else:
            self._batch.add(_UPDATE_PAYMENT, (*(values[c] for c in _UPDATE_COLUMNS), after.id, before.version))
            self._batch.add(VERSION_GUARD, (after.id, after.version))
        self._batch.add(_events_insert_sql(len(rows)), [r[c] for r in rows for c in _EVENT_COLUMNS])
        start = 0 if before is None else before.version
        outbox = enqueue_pg_params(after.merchant_id, after.id, start, after.version)
        self._batch.add(ENQUEUE_PG, outbox, on_row_count=self._outbox_written)
        payment_id = after.id
        self._batch.conflict = lambda: concurrency_conflict(payment_id)
        return drafts

    async def _project_dispute(self, row: dict[str, Any]) -> None:
        self._batch.add(_PROJECT_DISPUTE, tuple(row[c] for c in _DISPUTE_COLUMNS))

    async def _snapshot(self, state: payment.PaymentState) -> None:
        self._batch.add(_SNAPSHOT, (state.id, state.version, dumps(payment.to_dict(state)), state.updated_at))
