"""The payment event store and its projection, written together in one transaction."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from paysim.domain import event_codec, ids, payment
from paysim.domain.errors import Aborted
from paysim.domain.paging import Cursor
from paysim.domain.payment_events import PaymentEvent
from paysim.observability import metrics, tracing
from paysim.store.repositories._common import (
    SqlRepository,
    dialect_insert,
    page_query,
    split_page,
    unique_violation_on,
)
from paysim.store.repositories.disputes import dispute_row
from paysim.store.repositories.disputes import project as project_dispute
from paysim.store.repositories.webhook_outbox import enqueue_statement
from paysim.store.schema import payment_events, payment_snapshots, payments, test_clocks

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


def _on_clock(test_clock_id: str) -> ColumnElement[bool]:
    # A sweep on real time must not touch an object on a test clock: its time is the clock's.
    if test_clock_id:
        return payments.c.test_clock_id == test_clock_id
    return payments.c.test_clock_id.is_(None)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def projection_values(state: payment.PaymentState) -> dict[str, Any]:
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
        "state_json": dumps(payment.to_dict(state)),
        "test_clock_id": state.test_clock_id or None,
        "refund_settles_at": state.refund_settles_at,
    }


CONCURRENT_MODIFICATION = "CONCURRENT_MODIFICATION"


def concurrency_conflict(payment_id: str) -> Aborted:
    return Aborted(
        "the payment changed concurrently; retry",
        reason=CONCURRENT_MODIFICATION,
        retry_after_seconds=0.05,
        metadata={"payment_id": payment_id},
    )


def _event_rows(after: payment.PaymentState, drafts: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "aggregate_id": d.aggregate_id,
            "version": d.version,
            "type": d.type,
            "merchant_id": after.merchant_id,
            "data_json": dumps(d.data),
            "created_at": d.created_at,
        }
        for d in drafts
    ]


class PaymentEventStore(ABC):
    """How a payment's events are saved, the same on every engine; the adapters write the rows."""

    # Webhook deliveries written with this transaction's events (known once it committed, on the
    # PostgreSQL payment unit of work): its unit of work wakes the dispatcher after the commit
    # when non-zero.
    outbox_rows = 0
    # Set once this transaction has appended events: its unit of work announces them to event
    # streams after the commit (services/event_bus.py).
    wrote_events = False
    # The statuses its payments reached, for the metrics, counted after the commit (metrics on).
    statuses_reached: tuple[str, ...] = ()

    def _outbox_written(self, count: int) -> None:
        self.outbox_rows += count

    @abstractmethod
    async def get(self, payment_id: str, *, for_update: bool = False) -> payment.PaymentState | None: ...

    async def save(
        self, before: payment.PaymentState | None, after: payment.PaymentState, events: Sequence[PaymentEvent]
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
        stored = await self._append(before, after, drafts, _event_rows(after, drafts))
        if after.dispute is not None and (before is None or before.dispute != after.dispute):
            await self._project_dispute(dispute_row(after))
        self.wrote_events = True
        self.statuses_reached = metrics.statuses_reached(self.statuses_reached, before, after)
        tracing.remember_origin(d.id for d in drafts)
        if after.version // SNAPSHOT_EVERY > start // SNAPSHOT_EVERY:
            await self._snapshot(after)
        return stored

    @abstractmethod
    async def _append(
        self,
        before: payment.PaymentState | None,
        after: payment.PaymentState,
        drafts: list[StoredEvent],
        rows: list[dict[str, Any]],
    ) -> list[StoredEvent]:
        """Write the projection, the events (``rows``) and their webhook deliveries; the events as
        stored (with their sequence numbers where the engine knows them already)."""

    @abstractmethod
    async def _snapshot(self, state: payment.PaymentState) -> None: ...

    @abstractmethod
    async def _project_dispute(self, row: dict[str, Any]) -> None:
        """Write the disputes projection row of the payment's dispute (store/repositories/disputes.py)."""


class PaymentRepository(PaymentEventStore, SqlRepository):
    async def get(self, payment_id: str, *, for_update: bool = False) -> payment.PaymentState | None:
        query = select(payments.c.state_json).where(payments.c.id == payment_id)
        if for_update:
            query = query.with_for_update()
        raw = await self._conn.scalar(query)
        return payment.from_dict(json.loads(raw)) if raw is not None else None

    async def _append(
        self,
        before: payment.PaymentState | None,
        after: payment.PaymentState,
        drafts: list[StoredEvent],
        rows: list[dict[str, Any]],
    ) -> list[StoredEvent]:
        try:
            if before is None:
                await self._conn.execute(insert(payments).values(id=after.id, **projection_values(after)))
            else:
                updated = await self._conn.execute(
                    update(payments)
                    .where(payments.c.id == after.id, payments.c.version == before.version)
                    .values(**projection_values(after))
                )
                if updated.rowcount != 1:
                    raise concurrency_conflict(after.id)
            result = await self._conn.execute(
                insert(payment_events).returning(payment_events.c.seq, sort_by_parameter_order=True), rows
            )
            sequences = list(result.scalars())
            start = 0 if before is None else before.version
            outbox = enqueue_statement(self._conn.dialect.name, after.merchant_id, after.id, start, after.version)
            self._outbox_written((await self._conn.execute(outbox)).rowcount)
            return [replace(d, sequence=seq) for d, seq in zip(drafts, sequences, strict=True)]
        except sa_exc.IntegrityError as error:
            # Another writer appended these versions first (its constraint or its table named).
            if unique_violation_on(error, "payment_events"):
                raise concurrency_conflict(after.id) from None
            raise

    async def _snapshot(self, state: payment.PaymentState) -> None:
        stmt = dialect_insert(self._conn.dialect.name, payment_snapshots).values(
            aggregate_id=state.id,
            version=state.version,
            state_json=dumps(payment.to_dict(state)),
            created_at=state.updated_at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[payment_snapshots.c.aggregate_id],
            set_={"version": state.version, "state_json": stmt.excluded.state_json, "created_at": state.updated_at},
        )
        await self._conn.execute(stmt)

    async def _project_dispute(self, row: dict[str, Any]) -> None:
        await project_dispute(self._conn, row)

    async def snapshot(self, payment_id: str) -> payment.PaymentState | None:
        raw = await self._conn.scalar(
            select(payment_snapshots.c.state_json).where(payment_snapshots.c.aggregate_id == payment_id)
        )
        return payment.from_dict(json.loads(raw)) if raw is not None else None

    async def events(self, payment_id: str, *, after_version: int = 0, limit: int | None = None) -> list[StoredEvent]:
        query = (
            select(payment_events)
            .where(payment_events.c.aggregate_id == payment_id, payment_events.c.version > after_version)
            .order_by(payment_events.c.version)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = (await self._conn.execute(query)).all()
        return [
            StoredEvent(r.id, r.aggregate_id, r.version, r.seq, r.type, json.loads(r.data_json), r.created_at)
            for r in rows
        ]

    async def list_page(
        self, f: PaymentFilter, cursor: Cursor | None, limit: int
    ) -> tuple[list[payment.PaymentState], bool]:
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
        rows = (await self._conn.execute(page_query(query, limit))).scalars().all()
        page, more = split_page(rows, limit)
        return [payment.from_dict(json.loads(raw)) for raw in page], more

    async def ids_page(self, after_id: str, limit: int) -> list[str]:
        """Every payment id in id order, for full-store verification."""
        rows = await self._conn.execute(
            select(payments.c.id).where(payments.c.id > after_id).order_by(payments.c.id).limit(limit)
        )
        return list(rows.scalars())

    async def awaiting_action(self, since: datetime, limit: int, test_clock_id: str = "") -> list[str]:
        """Payments that have waited for their customer (``requires_action``) since ``since`` or longer,
        of one test clock, or (``test_clock_id`` empty) on real time."""
        rows = await self._conn.execute(
            select(payments.c.id)
            .where(
                payments.c.status == payment.Status.REQUIRES_ACTION.value,
                payments.c.updated_at <= since,
                _on_clock(test_clock_id),
            )
            .order_by(payments.c.updated_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def authorized_since(self, created_before: datetime, limit: int, test_clock_id: str = "") -> list[str]:
        """Payments still AUTHORIZED that were created at or before ``created_before``, oldest first,
        of one test clock, or (``test_clock_id`` empty) on real time."""
        rows = await self._conn.execute(
            select(payments.c.id)
            .where(
                payments.c.status == payment.Status.AUTHORIZED.value,
                payments.c.created_at <= created_before,
                _on_clock(test_clock_id),
            )
            .order_by(payments.c.created_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def refunds_settling(self, up_to: datetime, limit: int, test_clock_id: str = "") -> list[str]:
        """Payments with an asynchronous refund that settles at or before ``up_to``, soonest first,
        of one test clock, or (``test_clock_id`` empty) on real time."""
        rows = await self._conn.execute(
            select(payments.c.id)
            .where(payments.c.refund_settles_at <= up_to, _on_clock(test_clock_id))
            .order_by(payments.c.refund_settles_at, payments.c.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def earliest_on_clock(self, test_clock_id: str, column: str, status: str = "") -> datetime | None:
        """The earliest ``column`` (a time) of a clock's payments (of ``status``, when given): where
        its next transition of a kind falls due."""
        time_column = payments.c[column]
        query = select(func.min(time_column)).where(payments.c.test_clock_id == test_clock_id)
        if status:
            query = query.where(payments.c.status == status)
        found: datetime | None = await self._conn.scalar(query)
        return found

    async def on_clock(self, test_clock_id: str) -> bool:
        """Whether any payment lives on the clock."""
        query = select(payments.c.id).where(payments.c.test_clock_id == test_clock_id).limit(1)
        return await self._conn.scalar(query) is not None

    async def stuck(self, updated_before: datetime, limit: int) -> list[str]:
        """Payments on real time whose gateway outcome has been outstanding since before ``updated_before``."""
        rows = await self._conn.execute(
            select(payments.c.id)
            .where(payments.c.in_progress.is_(True), payments.c.updated_at < updated_before, _on_clock(""))
            .order_by(payments.c.updated_at)
            .limit(limit)
        )
        return list(rows.scalars())

    async def in_progress_on_clocks(self, limit: int) -> list[tuple[str, datetime, datetime]]:
        """Payments on test clocks with a gateway outcome outstanding: each with the time of its
        last event and its clock's time (their times are their clock's, not the server's)."""
        rows = await self._conn.execute(
            select(payments.c.id, payments.c.updated_at, test_clocks.c.frozen_time)
            .join(test_clocks, test_clocks.c.id == payments.c.test_clock_id)
            .where(payments.c.in_progress.is_(True))
            .order_by(payments.c.updated_at)
            .limit(limit)
        )
        return [(r.id, r.updated_at, r.frozen_time) for r in rows]
