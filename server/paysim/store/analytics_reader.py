"""Queries over the analytics read model. Every one is a range scan of a primary key or index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from paysim.domain import analytics as model
from paysim.domain.paging import Cursor
from paysim.store.analytics_writer import payment_row
from paysim.store.database import READ_ONLY
from paysim.store.repositories._common import after, page_query, split_page
from paysim.store.schema import analytics_gateway_buckets, analytics_payment_buckets, analytics_payments, customers
from paysim.store.unit_of_work import is_connectivity_error, unavailable


@dataclass(frozen=True, slots=True)
class BucketTotals:
    start: datetime
    group: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class CustomerTotals:
    merchant_id: str
    customer_id: str
    payments: int
    captured_volume: int


@dataclass(frozen=True, slots=True)
class GatewayTotals:
    gateway: str
    counts: dict[str, int]
    latency_max_ms: int


def _epoch(at: datetime) -> int:
    """Bucket starts are kept in whole seconds: a bucket is in a range when its start is."""
    return -int(-at.timestamp() // 1)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class AnalyticsReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _rows(self, statement: Any) -> Sequence[Any]:
        try:
            async with self._engine.connect() as conn:
                conn = await conn.execution_options(**READ_ONLY)
                rows = (await conn.execute(statement)).all()
                await conn.rollback()
                return rows
        except (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError) as error:
            if is_connectivity_error(error):
                raise unavailable(error) from error
            raise

    async def payment_buckets(
        self, merchant_id: str, size: str, dimension: str, start: datetime, end: datetime
    ) -> list[BucketTotals]:
        b = analytics_payment_buckets.c
        query = (
            select(b.start, b.value, *(b[name] for name in model.PAYMENT_COUNTERS))
            .where(b.merchant_id == merchant_id, b.size == size, b.dimension == dimension)
            .where(b.start >= _epoch(start), b.start < _epoch(end))
            .order_by(b.start, b.value)
        )
        names = model.PAYMENT_COUNTERS
        # Positional access: a month of hourly buckets is 720 rows of 14 columns, and looking
        # each column up by name cost more than the query itself.
        return [
            BucketTotals(datetime.fromtimestamp(r[0], UTC), r[1], dict(zip(names, r[2:], strict=True)))
            for r in await self._rows(query)
        ]

    async def top_customers(
        self, merchant_id: str, start: datetime, end: datetime, *, by_count: bool, limit: int, currency: str
    ) -> list[CustomerTotals]:
        p = analytics_payments.c
        count, volume = func.count().label("n"), func.coalesce(func.sum(p.captured_amount), 0).label("v")
        conditions: list[ColumnElement[bool]] = [p.created_at >= start, p.created_at < end]
        if merchant_id != model.PLATFORM:
            conditions.append(p.merchant_id == merchant_id)
        if currency:
            conditions.append(p.currency == currency)
        ranking = (count.desc(), volume.desc()) if by_count else (volume.desc(), count.desc())
        query = (
            select(p.merchant_id, p.customer_id, count, volume)
            .where(*conditions)
            .group_by(p.merchant_id, p.customer_id)
            .order_by(*ranking, p.merchant_id, p.customer_id)
            .limit(limit)
        )
        return [CustomerTotals(r.merchant_id, r.customer_id, int(r.n), int(r.v)) for r in await self._rows(query)]

    async def gateways(self, merchant_id: str, size: str, start: datetime, end: datetime) -> list[GatewayTotals]:
        g = analytics_gateway_buckets.c
        sums = [func.sum(g[name]).label(name) for name in model.GATEWAY_COUNTERS]
        query = (
            select(g.gateway, func.max(g.latency_max_ms).label("latency_max_ms"), *sums)
            .where(g.merchant_id == merchant_id, g.size == size, g.start >= _epoch(start), g.start < _epoch(end))
            .group_by(g.gateway)
            .order_by(g.gateway)
        )
        return [
            GatewayTotals(
                r.gateway, {name: int(getattr(r, name) or 0) for name in model.GATEWAY_COUNTERS}, int(r.latency_max_ms)
            )
            for r in await self._rows(query)
        ]

    async def search(
        self, merchant_id: str, text: str, cursor: Cursor | None, limit: int
    ) -> tuple[list[model.PaymentRow], bool]:
        p = analytics_payments.c
        pattern = _like(text)
        emails = select(customers.c.id).where(func.lower(customers.c.email).like(pattern, escape="\\"))
        conditions: list[ColumnElement[bool]] = [
            or_(p.search_text.like(pattern, escape="\\"), and_(p.customer_id != "", p.customer_id.in_(emails))),
            after(p.created_at, p.id, cursor),
        ]
        if merchant_id != model.PLATFORM:
            conditions.append(p.merchant_id == merchant_id)
        query = page_query(select(analytics_payments).where(*conditions).order_by(p.created_at, p.id), limit)
        return split_page([payment_row(r) for r in await self._rows(query)], limit)
