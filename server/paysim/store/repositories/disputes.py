"""The disputes projection: one row per disputed payment, written with the payment's events (by
the payment event store, store/repositories/payments.py), read for lists and the deadline sweep.
A dispute's state itself is part of its payment's: lists read it from there."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from paysim.domain import payment
from paysim.domain.paging import Cursor
from paysim.store.repositories._common import SqlRepository, before, dialect_insert, page_query, split_page
from paysim.store.schema import disputes, payments

_UPDATED = ("status", "test_clock_id", "due_at", "updated_at")


@dataclass(frozen=True, slots=True)
class DisputeFilter:
    merchant_id: str | None = None  # None: every merchant's (admins)
    payment_id: str = ""
    statuses: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()  # a customer's: the disputes of its own payments


def dispute_row(state: payment.PaymentState) -> dict[str, Any]:
    """The projection row of ``state``'s dispute (the payment must have one)."""
    d = state.dispute
    assert d is not None
    return {
        "id": d.id,
        "payment_id": state.id,
        "merchant_id": state.merchant_id,
        "status": d.status.value,
        "test_clock_id": d.test_clock_id,
        "due_at": d.due_at,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


async def project(conn: Any, row: dict[str, Any]) -> None:
    """Insert or update a dispute's row (SQLAlchemy, on either database)."""
    stmt = dialect_insert(conn.dialect.name, disputes).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[disputes.c.id], set_={name: stmt.excluded[name] for name in _UPDATED}
    )
    await conn.execute(stmt)


class DisputeRepository(SqlRepository):
    async def row_of(self, payment_id: str) -> dict[str, Any] | None:
        """The projection row of a payment's dispute, as ``dispute_row`` makes it (for verification)."""
        found = (await self._conn.execute(select(disputes).where(disputes.c.payment_id == payment_id))).first()
        return None if found is None else dict(found._mapping)

    async def locate(self, dispute_id: str) -> tuple[str, str | None] | None:
        """The payment a dispute belongs to, and the test clock it lives on (None: real time)."""
        query = select(disputes.c.payment_id, disputes.c.test_clock_id).where(disputes.c.id == dispute_id)
        found = (await self._conn.execute(query)).first()
        return None if found is None else (str(found.payment_id), found.test_clock_id)

    async def list_page(
        self, f: DisputeFilter, cursor: Cursor | None, limit: int
    ) -> tuple[list[payment.PaymentState], bool]:
        """The disputed payments, newest dispute first (keyset by creation time and id)."""
        c = disputes.c
        conditions: list[ColumnElement[bool]] = [before(c.created_at, c.id, cursor)]
        if f.merchant_id is not None:
            conditions.append(c.merchant_id == f.merchant_id)
        if f.payment_id:
            conditions.append(c.payment_id == f.payment_id)
        if f.statuses:
            conditions.append(c.status.in_(f.statuses))
        if f.customer_ids:
            conditions.append(payments.c.customer_id.in_(f.customer_ids))
        query = (
            select(payments.c.state_json)
            .select_from(disputes.join(payments, payments.c.id == c.payment_id))
            .where(*conditions)
            .order_by(c.created_at.desc(), c.id.desc())
        )
        rows = (await self._conn.execute(page_query(query, limit))).scalars().all()
        page, more = split_page(rows, limit)
        return [payment.from_dict(json.loads(raw)) for raw in page], more

    async def due(self, test_clock_id: str | None, up_to: datetime, limit: int) -> Sequence[str]:
        """The payments whose dispute falls due by ``up_to``, soonest first: those on real time
        (``test_clock_id`` None) or those on one test clock."""
        c = disputes.c
        on_clock = c.test_clock_id.is_(None) if test_clock_id is None else c.test_clock_id == test_clock_id
        rows = await self._conn.execute(
            select(c.payment_id)
            .where(on_clock, c.due_at.is_not(None), c.due_at <= up_to)
            .order_by(c.due_at, c.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def earliest_due(self, test_clock_id: str, up_to: datetime) -> datetime | None:
        """When the soonest dispute on the test clock falls due, if by ``up_to``."""
        c = disputes.c
        found = await self._conn.scalar(
            select(func.min(c.due_at)).where(c.test_clock_id == test_clock_id, c.due_at.is_not(None), c.due_at <= up_to)
        )
        return found if isinstance(found, datetime) else None
