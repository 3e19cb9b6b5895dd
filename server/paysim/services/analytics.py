"""The analytics use cases: who may see which figures, and the checks on what they ask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paysim.domain import analytics_figures as figures
from paysim.domain.analytics import PLATFORM, SPLIT_SIZES, PaymentRow
from paysim.domain.errors import NotFound
from paysim.domain.paging import Cursor
from paysim.domain.principal import Principal
from paysim.domain.roles import Role
from paysim.domain.validation import Violations, check_currency, check_id, check_text
from paysim.store.analytics_reader import AnalyticsReader, BucketTotals, CustomerTotals, GatewayTotals

MAX_TOP_CUSTOMERS = 100
MAX_QUERY_CHARS = 200


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``[start, end)`` as asked; a bound left out is None (and refused)."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class _Window:
    start: datetime
    end: datetime


def analytics_scope(principal: Principal, requested: str) -> str:
    """The merchant whose figures a caller reads: admins any (empty: the platform), merchants
    their own (another's is NOT_FOUND), customer accounts none (NOT_FOUND)."""
    v = Violations()
    check_id(v, "merchant_id", requested, "mer", required=False)
    v.raise_if_any()
    if principal.is_admin:
        return requested or PLATFORM
    # A customer account reaches no merchant's figures: NOT_FOUND, as for any merchant not its own.
    if (
        principal.role is Role.CUSTOMER
        or not principal.merchant_id
        or (requested and requested != principal.merchant_id)
    ):
        raise NotFound("merchant", requested or "(none)")
    return principal.merchant_id


def _check_range(v: Violations, window: TimeRange | None) -> _Window:
    """The range, or violations (and a placeholder the caller never uses: it raises first)."""
    if window is None:
        v.add("range", "is required", "REQUIRED")
        return _Window(datetime.min, datetime.min)
    if window.start is None:
        v.add("range.start_time", "is required", "REQUIRED")
    if window.end is None:
        v.add("range.end_time", "is required", "REQUIRED")
    if window.start is None or window.end is None:
        return _Window(datetime.min, datetime.min)
    if window.end <= window.start:
        v.add("range.end_time", "must be after start_time")
    return _Window(window.start, window.end)


class AnalyticsService:
    def __init__(self, reader: AnalyticsReader) -> None:
        self._reader = reader

    async def payment_metrics(
        self, principal: Principal, merchant_id: str, window: TimeRange | None, size: str, dimension: str
    ) -> list[BucketTotals]:
        merchant = analytics_scope(principal, merchant_id)
        v = Violations()
        checked = _check_range(v, window)
        if size not in figures.BUCKET_WIDTH:
            v.add("bucket_size", "is required", "REQUIRED")
        elif dimension and size not in SPLIT_SIZES:
            v.add("bucket_size", "split series are kept in hours and days: use BUCKET_SIZE_HOUR or _DAY")
        elif (checked.end - checked.start) / figures.BUCKET_WIDTH[size] > figures.MAX_BUCKETS:
            v.add("bucket_size", f"the range spans more than {figures.MAX_BUCKETS} buckets of this size")
        v.raise_if_any()
        return await self._reader.payment_buckets(merchant, size, dimension, checked.start, checked.end)

    async def top_customers(
        self,
        principal: Principal,
        merchant_id: str,
        window: TimeRange | None,
        *,
        by_count: bool,
        limit: int,
        currency: str,
    ) -> list[CustomerTotals]:
        merchant = analytics_scope(principal, merchant_id)
        v = Violations()
        checked = _check_range(v, window)
        if not 0 <= limit <= MAX_TOP_CUSTOMERS:
            v.add("limit", f"must be between 1 and {MAX_TOP_CUSTOMERS}")
        if currency:
            check_currency(v, "currency", currency)
        v.raise_if_any()
        return await self._reader.top_customers(
            merchant, checked.start, checked.end, by_count=by_count, limit=limit or 10, currency=currency
        )

    async def gateway_performance(
        self, principal: Principal, merchant_id: str, window: TimeRange | None
    ) -> list[GatewayTotals]:
        merchant = analytics_scope(principal, merchant_id)
        v = Violations()
        checked = _check_range(v, window)
        v.raise_if_any()
        size = figures.widest_aligned_size(checked.start, checked.end)
        return await self._reader.gateways(merchant, size, checked.start, checked.end)

    async def search(
        self, principal: Principal, merchant_id: str, text: str, cursor: Cursor | None, limit: int
    ) -> tuple[list[PaymentRow], bool]:
        merchant = analytics_scope(principal, merchant_id)
        v = Violations()
        text = text.strip()
        check_text(v, "query", text, max_chars=MAX_QUERY_CHARS, required=True)
        v.raise_if_any()
        return await self._reader.search(merchant, text, cursor, limit)
