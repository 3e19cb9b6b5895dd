"""Webhook endpoints (with their sealed secrets), the delivery outbox and the attempts log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, delete, func, insert, or_, select, update

from paysim.domain.paging import Cursor
from paysim.domain.webhooks import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    decode_event_types,
    encode_event_types,
)
from paysim.store.repositories._common import SqlRepository, before, page_query, split_page
from paysim.store.schema import test_clocks, webhook_attempts, webhook_deliveries, webhook_endpoints

_e = webhook_endpoints.c
_d = webhook_deliveries.c
_a = webhook_attempts.c
_c = test_clocks.c


@dataclass(frozen=True, slots=True)
class SealedSecrets:
    """An endpoint's secrets as stored (see security/webhook_secrets.py)."""

    current: str
    previous: str | None
    previous_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a dispatcher holds the lease of, with what it needs to send it.
    ``delivery.attempt_count`` is the number of the attempt about to be made."""

    delivery: WebhookDelivery
    url: str
    secrets: SealedSecrets
    # The time on its test clock at which the attempt is made; None on real time.
    clock_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    merchant_id: str
    endpoint_id: str = ""
    event_id: str = ""
    state: DeliveryState | None = None


def _endpoint(row: Row[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        merchant_id=row.merchant_id,
        url=row.url,
        event_types=decode_event_types(row.event_types),
        enabled=bool(row.enabled),
        description=row.description,
        disabled_reason=row.disabled_reason,
        previous_secret_expires_at=row.previous_secret_expires_at if row.previous_secret_sealed else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _secrets(row: Row[Any]) -> SealedSecrets:
    return SealedSecrets(row.secret_sealed, row.previous_secret_sealed, row.previous_secret_expires_at)


def _delivery(row: Row[Any], attempts: Sequence[WebhookAttempt] = ()) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        merchant_id=row.merchant_id,
        event_id=row.event_id,
        event_type=row.event_type,
        payment_id=row.payment_id,
        event_version=int(row.event_version),
        sequence=int(row.sequence),
        state=DeliveryState(row.state),
        attempt_count=int(row.attempt_count),
        next_attempt_at=row.next_attempt_at if row.state == DeliveryState.PENDING.value else None,
        redelivery_of=row.redelivery_of,
        created_at=row.created_at,
        updated_at=row.updated_at,
        attempts=tuple(attempts),
    )


def _free(now: datetime) -> ColumnElement[bool]:
    """Not leased to an attempt in flight (a delivery on a test clock)."""
    return or_(_d.lease_until.is_(None), _d.lease_until <= now)


def _clock_time(row: Row[Any], clocks: dict[str, datetime]) -> datetime | None:
    """The time on its clock at which a claimed delivery's attempt is made: when it fell due, or
    the clock's time if that is later (a delivery made once the clock had moved past it). None on
    real time; a clock that is gone counts from the delivery's due time."""
    if not row.test_clock_id:
        return None
    due: datetime = row.next_attempt_at
    clock_time = clocks.get(row.test_clock_id)
    return due if clock_time is None or clock_time < due else clock_time


def _attempt(row: Row[Any]) -> WebhookAttempt:
    return WebhookAttempt(
        number=int(row.number),
        at=row.started_at,
        http_status=int(row.http_status),
        error=row.error,
        duration_ms=int(row.duration_ms),
    )


class WebhookEndpointRepository(SqlRepository):
    async def add(self, endpoint: WebhookEndpoint, sealed_secret: str) -> None:
        await self._conn.execute(
            insert(webhook_endpoints).values(
                id=endpoint.id,
                merchant_id=endpoint.merchant_id,
                url=endpoint.url,
                event_types=encode_event_types(endpoint.event_types),
                enabled=endpoint.enabled,
                description=endpoint.description,
                disabled_reason=endpoint.disabled_reason,
                secret_sealed=sealed_secret,
                previous_secret_sealed=None,
                previous_secret_expires_at=None,
                created_at=endpoint.created_at,
                updated_at=endpoint.updated_at,
            )
        )

    async def get(self, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint | None:
        query = select(webhook_endpoints).where(_e.id == endpoint_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return _endpoint(row) if row is not None else None

    async def secrets(self, endpoint_id: str) -> SealedSecrets | None:
        row = (await self._conn.execute(select(webhook_endpoints).where(_e.id == endpoint_id))).first()
        return _secrets(row) if row is not None else None

    async def count_for_merchant(self, merchant_id: str) -> int:
        count = await self._conn.scalar(select(func.count()).where(_e.merchant_id == merchant_id))
        return int(count or 0)

    async def list_page(
        self, merchant_id: str, cursor: Cursor | None, limit: int
    ) -> tuple[list[WebhookEndpoint], bool]:
        query = (
            select(webhook_endpoints)
            .where(_e.merchant_id == merchant_id, before(_e.created_at, _e.id, cursor))
            .order_by(_e.created_at.desc(), _e.id.desc())
        )
        rows = (await self._conn.execute(page_query(query, limit))).all()
        page, more = split_page(rows, limit)
        return [_endpoint(r) for r in page], more

    async def update(self, endpoint: WebhookEndpoint) -> None:
        await self._conn.execute(
            update(webhook_endpoints)
            .where(_e.id == endpoint.id)
            .values(
                url=endpoint.url,
                event_types=encode_event_types(endpoint.event_types),
                enabled=endpoint.enabled,
                description=endpoint.description,
                disabled_reason=endpoint.disabled_reason,
                updated_at=endpoint.updated_at,
            )
        )

    async def rotate(
        self,
        endpoint_id: str,
        sealed_secret: str,
        sealed_previous: str | None,
        previous_until: datetime | None,
        now: datetime,
    ) -> None:
        await self._conn.execute(
            update(webhook_endpoints)
            .where(_e.id == endpoint_id)
            .values(
                secret_sealed=sealed_secret,
                previous_secret_sealed=sealed_previous,
                previous_secret_expires_at=previous_until,
                updated_at=now,
            )
        )

    async def disable(self, endpoint_id: str, reason: str, now: datetime) -> None:
        await self._conn.execute(
            update(webhook_endpoints)
            .where(_e.id == endpoint_id)
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )

    async def delete(self, endpoint_id: str) -> None:
        """The endpoint with its deliveries and their attempts."""
        deliveries = select(_d.id).where(_d.endpoint_id == endpoint_id)
        await self._conn.execute(delete(webhook_attempts).where(_a.delivery_id.in_(deliveries)))
        await self._conn.execute(delete(webhook_deliveries).where(_d.endpoint_id == endpoint_id))
        await self._conn.execute(delete(webhook_endpoints).where(_e.id == endpoint_id))


class WebhookDeliveryRepository(SqlRepository):
    """The outbox. A delivery on real time is due when ``next_attempt_at`` has passed, and a claim
    pushes ``next_attempt_at`` a lease ahead. A delivery on a test clock (``test_clock_id``) is due
    when its clock's time has reached ``next_attempt_at`` (a time on that clock), and a claim leases
    it in ``lease_until`` (real time), leaving ``next_attempt_at`` as the clock time it fell due."""

    def _due(self, now: datetime) -> list[ColumnElement[bool]]:
        clock_time = select(_c.frozen_time).where(_c.id == _d.test_clock_id).scalar_subquery()
        on_real_time = and_(_d.test_clock_id.is_(None), _d.next_attempt_at <= now)
        on_clock = and_(_d.test_clock_id.is_not(None), _free(now), _d.next_attempt_at <= clock_time)
        return [_d.state == DeliveryState.PENDING.value, or_(on_real_time, on_clock), _e.enabled.is_(True)]

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries of enabled endpoints: count the attempt about to be
        made and push them a lease ahead, so no other dispatcher takes them until it runs out.

        On PostgreSQL, rows another dispatcher is claiming at this moment are skipped (SKIP
        LOCKED), never waited for; SQLite has one writer at a time, so the UPDATE is the claim.
        """
        return await self._claim(self._due(now), now, lease_until, limit)

    async def claim_on_clock(
        self, test_clock_id: str, up_to: datetime, now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        """``claim`` for the deliveries of one test clock due by ``up_to`` on it (its advance)."""
        due = [
            _d.state == DeliveryState.PENDING.value,
            _d.test_clock_id == test_clock_id,
            _free(now),
            _d.next_attempt_at <= up_to,
            _e.enabled.is_(True),
        ]
        return await self._claim(due, now, lease_until, limit)

    async def _claim(
        self, where: list[ColumnElement[bool]], now: datetime, lease_until: datetime, limit: int
    ) -> list[ClaimedDelivery]:
        due = (
            select(_d.id)
            .select_from(webhook_deliveries.join(webhook_endpoints, _e.id == _d.endpoint_id))
            .where(*where)
            .order_by(_d.next_attempt_at, _d.sequence)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            due = due.with_for_update(of=webhook_deliveries, skip_locked=True)
        on_real_time = _d.test_clock_id.is_(None)
        claimed = (
            await self._conn.execute(
                update(webhook_deliveries)
                .where(_d.id.in_(due.scalar_subquery()))
                .values(
                    attempt_count=_d.attempt_count + 1,
                    next_attempt_at=case((on_real_time, lease_until), else_=_d.next_attempt_at),
                    lease_until=lease_until,
                    updated_at=case((on_real_time, now), else_=_d.updated_at),
                )
                .returning(*webhook_deliveries.c)
            )
        ).all()
        if not claimed:
            return []
        endpoints = {
            row.id: row
            for row in await self._conn.execute(
                select(webhook_endpoints).where(_e.id.in_({row.endpoint_id for row in claimed}))
            )
        }
        clock_ids = {row.test_clock_id for row in claimed if row.test_clock_id}
        clocks: dict[str, datetime] = {}
        if clock_ids:
            found = await self._conn.execute(select(_c.id, _c.frozen_time).where(_c.id.in_(clock_ids)))
            clocks = {row.id: row.frozen_time for row in found}
        return [
            ClaimedDelivery(
                _delivery(row),
                endpoints[row.endpoint_id].url,
                _secrets(endpoints[row.endpoint_id]),
                _clock_time(row, clocks),
            )
            for row in claimed
        ]

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery on real time of an enabled endpoint becomes due (or
        its lease ends). Deliveries on test clocks fall due when their clock moves, not with time."""
        query = (
            select(func.min(_d.next_attempt_at))
            .select_from(webhook_deliveries.join(webhook_endpoints, _e.id == _d.endpoint_id))
            .where(_d.state == DeliveryState.PENDING.value, _e.enabled.is_(True), _d.test_clock_id.is_(None))
        )
        found: datetime | None = await self._conn.scalar(query)
        return found

    async def next_on_clock(self, test_clock_id: str, now: datetime) -> datetime | None:
        """The clock time the earliest pending delivery of a test clock falls due at (one in flight
        counts once its lease has ended)."""
        query = (
            select(func.min(_d.next_attempt_at))
            .select_from(webhook_deliveries.join(webhook_endpoints, _e.id == _d.endpoint_id))
            .where(
                _d.state == DeliveryState.PENDING.value,
                _d.test_clock_id == test_clock_id,
                _free(now),
                _e.enabled.is_(True),
            )
        )
        found: datetime | None = await self._conn.scalar(query)
        return found

    async def pending_count(self) -> int:
        """Deliveries of enabled endpoints still to be made, due or not (the metrics' queue depth)."""
        query = (
            select(func.count())
            .select_from(webhook_deliveries.join(webhook_endpoints, _e.id == _d.endpoint_id))
            .where(_d.state == DeliveryState.PENDING.value, _e.enabled.is_(True))
        )
        return int(await self._conn.scalar(query) or 0)

    async def finish_attempt(
        self, delivery_id: str, attempt: WebhookAttempt, state: DeliveryState, next_attempt_at: datetime, now: datetime
    ) -> bool:
        """Record ``attempt`` and move the delivery on, unless it is no longer this attempt's (its
        lease ran out and another dispatcher took it, or it was deleted). Every attempt of a
        delivery that still exists is recorded. True if the delivery moved on."""
        moved = await self._conn.execute(
            update(webhook_deliveries)
            .where(
                _d.id == delivery_id,
                _d.attempt_count == attempt.number,
                _d.state == DeliveryState.PENDING.value,
            )
            .values(state=state.value, next_attempt_at=next_attempt_at, lease_until=None, updated_at=now)
        )
        exists = moved.rowcount == 1 or (await self._conn.scalar(select(_d.id).where(_d.id == delivery_id))) is not None
        if exists:
            await self._conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=delivery_id,
                    number=attempt.number,
                    started_at=attempt.at,
                    http_status=attempt.http_status,
                    error=attempt.error[:200],
                    duration_ms=attempt.duration_ms,
                )
            )
        return bool(moved.rowcount == 1)

    async def add(self, delivery: WebhookDelivery) -> None:
        await self._conn.execute(
            insert(webhook_deliveries).values(
                id=delivery.id,
                endpoint_id=delivery.endpoint_id,
                merchant_id=delivery.merchant_id,
                event_id=delivery.event_id,
                event_type=delivery.event_type,
                payment_id=delivery.payment_id,
                event_version=delivery.event_version,
                sequence=delivery.sequence,
                state=delivery.state.value,
                attempt_count=delivery.attempt_count,
                next_attempt_at=delivery.next_attempt_at or delivery.created_at,
                redelivery_of=delivery.redelivery_of,
                created_at=delivery.created_at,
                updated_at=delivery.updated_at,
            )
        )

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        row = (await self._conn.execute(select(webhook_deliveries).where(_d.id == delivery_id))).first()
        if row is None:
            return None
        return _delivery(row, (await self._attempts([delivery_id])).get(delivery_id, ()))

    async def list_page(
        self, f: DeliveryFilter, cursor: Cursor | None, limit: int
    ) -> tuple[list[WebhookDelivery], bool]:
        conditions = [_d.merchant_id == f.merchant_id, before(_d.created_at, _d.id, cursor)]
        if f.endpoint_id:
            conditions.append(_d.endpoint_id == f.endpoint_id)
        if f.event_id:
            conditions.append(_d.event_id == f.event_id)
        if f.state is not None:
            conditions.append(_d.state == f.state.value)
        query = select(webhook_deliveries).where(*conditions).order_by(_d.created_at.desc(), _d.id.desc())
        rows = (await self._conn.execute(page_query(query, limit))).all()
        page, more = split_page(rows, limit)
        attempts = await self._attempts([r.id for r in page])
        return [_delivery(r, attempts.get(r.id, ())) for r in page], more

    async def _attempts(self, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
        found: dict[str, list[WebhookAttempt]] = {}
        if not delivery_ids:
            return found
        rows = await self._conn.execute(
            select(webhook_attempts).where(_a.delivery_id.in_(delivery_ids)).order_by(_a.delivery_id, _a.number)
        )
        for row in rows:
            found.setdefault(row.delivery_id, []).append(_attempt(row))
        return found
