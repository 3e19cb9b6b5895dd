"""The payment event store and its projection, written together in one transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from paysim.domain import event_codec, ids
from paysim.domain import payment as agg
from paysim.domain.errors import Aborted
from paysim.domain.paging import Cursor
from paysim.domain.payment_events import PaymentEvent
from paysim.store.pg_batch import VERSION_GUARD
from paysim.store.repositories._common import DualRepository, dialect_insert, page_query, split_page
from paysim.store.repositories.webhook_outbox import ENQUEUE_PG, enqueue_pg_params, enqueue_statement
from paysim.store.schema import payment_events, payment_snapshots, payments

SNAPSHOT_EVERY = 20
EVENT_ID_PREFIX = "evt"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    aggregate_id: str
    version: int
    sequence: int
    type: str
    data: dict[str, Any]
    created_at: datetime

    def as_domain(self) -> PaymentEvent:
        return event_codec.from_stored(self.type, self.data, self.created_at)


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    merchant_id: str | None = None
    customer_id: str | None = None
    customer_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    min_amount: int | None = None
    max_amount: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    card_last4: str | None = None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _projection_values(state: agg.PaymentState) -> dict[str, Any]:
    return {
        "merchant_id": state.merchant_id,
        "customer_id": state.customer_id,
        "status": state.status.value,
        "amount": state.amount,
        "currency": state.currency,
        "card_last4": state.card.last4,
        "in_progress": state.in_progress,
        "version": state.version,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "state_json": _dumps(agg.to_dict(state)),
    }


CONCURRENT_MODIFICATION = "CONCURRENT_MODIFICATION"


def concurrency_conflict(payment_id: str) -> Aborted:
    return Aborted(
        "the payment changed concurrently; retry",
        reason=CONCURRENT_MODIFICATION,
        retry_after_seconds=0.05,
        metadata={"payment_id": payment_id},
    )


_PG_GET = "SELECT state_json FROM payments WHERE id = %s"
_PG_INSERT_PAYMENT = (
    "INSERT INTO payments (id, merchant_id, customer_id, status, amount, currency, card_last4, in_progress,"
    " version, created_at, updated_at, state_json) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PG_UPDATE_PAYMENT = (
    "UPDATE payments SET status = %s, in_progress = %s, version = %s, updated_at = %s, state_json = %s"
    " WHERE id = %s AND version = %s"
)
_PG_SNAPSHOT = (
    "INSERT INTO payment_snapshots (aggregate_id, version, state_json, created_at) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (aggregate_id) DO UPDATE SET version = EXCLUDED.version, state_json = EXCLUDED.state_json,"
    " created_at = EXCLUDED.created_at"
)
_PG_EVENT_COLUMNS = "(id, aggregate_id, version, type, merchant_id, data_json, created_at)"


@functools.cache
def _events_insert_sql(count: int) -> str:
    # Only placeholders are composed into the text; every value is a bound parameter.
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * count)
    return f"INSERT INTO payment_events {_PG_EVENT_COLUMNS} VALUES {placeholders} RETURNING version, seq"  # noqa: S608


class PaymentRepository(DualRepository):
    # Webhook deliveries written with this transaction's events (known once it committed on the
    # PostgreSQL hot path): its unit of work wakes the dispatcher after the commit when non-zero.
    outbox_rows = 0
    # Set once this transaction has appended events: its unit of work announces them to event
    # streams after the commit (services/event_bus.py).
    wrote_events = False

    def _outbox_written(self, count: int) -> None:
        self.outbox_rows += count

    async def get(self, payment_id: str, *, for_update: bool = False) -> agg.PaymentState | None:
        if self._pg is not None:
            cur = await self._pg.execute(_PG_GET + (" FOR UPDATE" if for_update else ""), (payment_id,))
            found = await cur.fetchone()
            return agg.from_dict(json.loads(found[0])) if found is not None else None
        query = select(payments.c.state_json).where(payments.c.id == payment_id)
        if for_update:
            query = query.with_for_update()
        raw = await self._db.scalar(query)
        return agg.from_dict(json.loads(raw)) if raw is not None else None

    async def save(
        self, before: agg.PaymentState | None, after: agg.PaymentState, events: Sequence[PaymentEvent]
    ) -> list[StoredEvent]:
        """Append ``events`` (which turned ``before`` into ``after``) and write the projection.

        The projection row is written first: its version-guarded UPDATE takes the row lock, so every
        writer of a payment locks the same row before touching the event store and two writers can
        never deadlock on each other's event rows. A writer that lost the race (someone appended
        since ``before``) fails the guard: ABORTED, retryable. The webhook deliveries of these
        events are written by the same transaction (webhook_outbox.py). Writing the projection
        first also gives the transaction its id before it takes sequence numbers, which event
        streams rely on to read the store in seq order safely (store/event_horizon.py).
        """
        start = 0 if before is None else before.version
        drafts = [
            StoredEvent(
                ids.new_id(EVENT_ID_PREFIX), after.id, start + i + 1, 0, e.type.value, event_codec.to_data(e), e.at
            )
            for i, e in enumerate(events)
        ]
        rows = [
            {
                "id": d.id,
                "aggregate_id": d.aggregate_id,
                "version": d.version,
                "type": d.type,
                "merchant_id": after.merchant_id,
                "data_json": _dumps(d.data),
                "created_at": d.created_at,
            }
            for d in drafts
        ]
        snapshot_due = after.version // SNAPSHOT_EVERY > start // SNAPSHOT_EVERY
        if self._batch is not None:
            # Written with the commit; sequences are assigned by the database then.
            self._save_pg(before, after, rows)
            if snapshot_due:
                await self._snapshot(after)
            return drafts
        sequences = await self._save_core(before, after, rows)
        if snapshot_due:
            await self._snapshot(after)
        return [replace(d, sequence=seq) for d, seq in zip(drafts, sequences, strict=True)]

    def _save_pg(self, before: agg.PaymentState | None, after: agg.PaymentState, rows: list[dict[str, Any]]) -> None:
        """Queue the projection write, its version guard and the events for the commit pipeline."""
        assert self._batch is not None
        values = _projection_values(after)
        if before is None:
            self._batch.add(
                _PG_INSERT_PAYMENT,
                (
                    after.id,
                    values["merchant_id"],
                    values["customer_id"],
                    values["status"],
                    values["amount"],
                    values["currency"],
                    values["card_last4"],
                    values["in_progress"],
                    values["version"],
                    values["created_at"],
                    values["updated_at"],
                    values["state_json"],
                ),
            )
        else:
            self._batch.add(
                _PG_UPDATE_PAYMENT,
                (
                    values["status"],
                    values["in_progress"],
                    values["version"],
                    values["updated_at"],
                    values["state_json"],
                    after.id,
                    before.version,
                ),
            )
            self._batch.add(VERSION_GUARD, (after.id, after.version))
        params = [
            v
            for r in rows
            for v in (
                r["id"],
                r["aggregate_id"],
                r["version"],
                r["type"],
                r["merchant_id"],
                r["data_json"],
                r["created_at"],
            )
        ]
        self._batch.add(_events_insert_sql(len(rows)), params)
        start = 0 if before is None else before.version
        outbox = enqueue_pg_params(after.merchant_id, after.id, start, after.version)
        self._batch.add(ENQUEUE_PG, outbox, on_row_count=self._outbox_written)
        self.wrote_events = True
        payment_id = after.id
        self._batch.conflict = lambda: concurrency_conflict(payment_id)

    async def _save_core(
        self, before: agg.PaymentState | None, after: agg.PaymentState, rows: list[dict[str, Any]]
    ) -> list[int]:
        try:
            if before is None:
                await self._db.execute(insert(payments).values(id=after.id, **_projection_values(after)))
            else:
                updated = await self._db.execute(
                    update(payments)
                    .where(payments.c.id == after.id, payments.c.version == before.version)
                    .values(**_projection_values(after))
                )
                if updated.rowcount != 1:
                    raise concurrency_conflict(after.id)
            result = await self._db.execute(
                insert(payment_events).returning(payment_events.c.seq, sort_by_parameter_order=True), rows
            )
            sequences = list(result.scalars())
            start = 0 if before is None else before.version
            outbox = enqueue_statement(self._db.dialect.name, after.merchant_id, after.id, start, after.version)
            self._outbox_written((await self._db.execute(outbox)).rowcount)
            self.wrote_events = True
            return sequences
        except sa_exc.IntegrityError as error:
            if "payment_events" in str(error.orig) or "uq_payment_events" in str(error.orig):
                raise concurrency_conflict(after.id) from None
            raise

    async def _snapshot(self, state: agg.PaymentState) -> None:
        if self._batch is not None:
            self._batch.add(_PG_SNAPSHOT, (state.id, state.version, _dumps(agg.to_dict(state)), state.updated_at))
            return
        stmt = dialect_insert(self._db.dialect.name, payment_snapshots).values(
            aggregate_id=state.id,
            version=state.version,
            state_json=_dumps(agg.to_dict(state)),
            created_at=state.updated_at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[payment_snapshots.c.aggregate_id],
            set_={"version": state.version, "state_json": stmt.excluded.state_json, "created_at": state.updated_at},
        )
        await self._db.execute(stmt)

    async def snapshot(self, payment_id: str) -> agg.PaymentState | None:
        raw = await self._db.scalar(
            select(payment_snapshots.c.state_json).where(payment_snapshots.c.aggregate_id == payment_id)
        )
        return agg.from_dict(json.loads(raw)) if raw is not None else None

    async def events(self, payment_id: str, *, after_version: int = 0, limit: int | None = None) -> list[StoredEvent]:
        query = (
            select(payment_events)
            .where(payment_events.c.aggregate_id == payment_id, payment_events.c.version > after_version)
            .order_by(payment_events.c.version)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = (await self._db.execute(query)).all()
        return [
            StoredEvent(r.id, r.aggregate_id, r.version, r.seq, r.type, json.loads(r.data_json), r.created_at)
            for r in rows
        ]

    async def list_page(
        self, f: PaymentFilter, cursor: Cursor | None, limit: int
    ) -> tuple[list[agg.PaymentState], bool]:
        c = payments.c
        conditions: list[ColumnElement[bool]] = []
        if cursor is not None:
            conditions.append(
                or_(c.created_at < cursor.create_time, and_(c.created_at == cursor.create_time, c.id < cursor.id))
            )
        if f.merchant_id is not None:
            conditions.append(c.merchant_id == f.merchant_id)
        if f.customer_id:
            conditions.append(c.customer_id == f.customer_id)
        if f.customer_ids:
            conditions.append(c.customer_id.in_(f.customer_ids))
        if f.statuses:
            conditions.append(c.status.in_(f.statuses))
        if f.min_amount is not None:
            conditions.append(c.amount >= f.min_amount)
        if f.max_amount is not None:
            conditions.append(c.amount <= f.max_amount)
        if f.created_after is not None:
            conditions.append(c.created_at >= f.created_after)
        if f.created_before is not None:
            conditions.append(c.created_at < f.created_before)
        if f.card_last4:
            conditions.append(c.card_last4 == f.card_last4)
        query = select(c.state_json).where(*conditions).order_by(c.created_at.desc(), c.id.desc())
        rows = (await self._db.execute(page_query(query, limit))).scalars().all()
        page, more = split_page(rows, limit)
        return [agg.from_dict(json.loads(raw)) for raw in page], more

    async def ids_page(self, after_id: str, limit: int) -> list[str]:
        """Every payment id in id order, for full-store verification."""
        rows = await self._db.execute(
            select(payments.c.id).where(payments.c.id > after_id).order_by(payments.c.id).limit(limit)
        )
        return list(rows.scalars())

    async def awaiting_action(self, since: datetime, limit: int) -> list[str]:
        """Payments that have waited for their customer (``requires_action``) since ``since`` or longer."""
        rows = await self._db.execute(
            select(payments.c.id)
            .where(payments.c.status == agg.Status.REQUIRES_ACTION.value, payments.c.updated_at <= since)
            .order_by(payments.c.updated_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def stuck(self, updated_before: datetime, limit: int) -> list[str]:
        """Payments whose gateway outcome has been outstanding since before ``updated_before``."""
        rows = await self._db.execute(
            select(payments.c.id)
            .where(payments.c.in_progress.is_(True), payments.c.updated_at < updated_before)
            .order_by(payments.c.updated_at)
            .limit(limit)
        )
        return list(rows.scalars())
