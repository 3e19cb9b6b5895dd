"""Durable idempotency keys: claimed by INSERT under a primary key, completed with the response."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.store.repositories._common import dialect_insert
from paysim.store.schema import idempotency_keys, test_clocks

_k = idempotency_keys.c

IN_FLIGHT = "in_flight"
COMPLETED = "completed"

# The columns a claim writes, in the order of ``KeyClaims._insert_if_absent``'s row.
CLAIM_COLUMNS = (
    "owner",
    "key",
    "method",
    "fingerprint",
    "state",
    "payment_id",
    "recovery_point",
    "created_at",
    "updated_at",
    "expires_at",
)


@dataclass(frozen=True, slots=True)
class StoredKey:
    method: str
    fingerprint: str
    state: str
    payment_id: str | None
    recovery_point: str | None
    response_code: int | None
    response_blob: bytes | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    # The test clock of the payment the key's request was about, and that clock's time (None when
    # the clock is gone): such a key expires when its clock passes ``expires_at``.
    test_clock_id: str | None = None
    clock_time: datetime | None = None

    def expired(self, now: datetime) -> bool:
        """Past its lifetime: on real time at ``now``, or on its test clock at the clock's time."""
        if self.test_clock_id is None:
            return self.expires_at <= now
        return self.clock_time is None or self.expires_at <= self.clock_time


class KeyClaims(ABC):
    """How a key is claimed, the same on every engine: insert it unless it exists; a key past its
    lifetime that was not pruned yet is free again (on its test clock's time, for a key that a
    request about a payment on a clock used: ``on_clock``)."""

    async def claim(
        self,
        owner: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        *,
        payment_id: str = "",
        recovery_point: str = "",
    ) -> StoredKey | None:
        """Insert the key as in flight. None if this call claimed it, else the existing key.

        On PostgreSQL a concurrent uncommitted claim makes this INSERT wait for that transaction,
        so exactly one claimant wins and the others then read its row.
        """
        row = (owner, key, method, fingerprint, IN_FLIGHT, payment_id or None, recovery_point or None)
        if await self._insert_if_absent((*row, now, now, expires_at)):
            return None
        existing = await self.get(owner, key)
        if existing is None or not existing.expired(now):
            return existing
        await self._delete(owner, key)
        return await self.claim(
            owner,
            key,
            method,
            fingerprint,
            now,
            expires_at,
            payment_id=payment_id,
            recovery_point=recovery_point,
        )

    @abstractmethod
    async def get(self, owner: str, key: str) -> StoredKey | None: ...

    @abstractmethod
    async def on_clock(self, owner: str, key: str, test_clock_id: str, expires_at: datetime) -> None:
        """The key just claimed is about a payment on a test clock: it expires at ``expires_at``
        on that clock's time (written with the claim's transaction)."""

    @abstractmethod
    async def _insert_if_absent(self, row: tuple[Any, ...]) -> bool:
        """Insert ``row`` (values of ``CLAIM_COLUMNS``) unless the key exists; whether it did."""

    @abstractmethod
    async def _delete(self, owner: str, key: str) -> None: ...


class IdempotencyRepository(KeyClaims):
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _insert_if_absent(self, row: tuple[Any, ...]) -> bool:
        stmt = (
            dialect_insert(self._conn.dialect.name, idempotency_keys)
            .values(dict(zip(CLAIM_COLUMNS, row, strict=True)))
            .on_conflict_do_nothing(index_elements=[idempotency_keys.c.owner, idempotency_keys.c.key])
            .returning(idempotency_keys.c.key)
        )
        return (await self._conn.execute(stmt)).first() is not None

    async def _delete(self, owner: str, key: str) -> None:
        await self._conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.owner == owner, idempotency_keys.c.key == key)
        )

    async def reserve(
        self,
        owner: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        *,
        payment_id: str = "",
    ) -> StoredKey | None:
        """``claim``: this engine runs each write at once, so there is nothing to save by deferring it
        (the PostgreSQL payment unit of work's adapter does, pg/idempotency.py)."""
        return await self.claim(owner, key, method, fingerprint, now, expires_at, payment_id=payment_id)

    async def get(self, owner: str, key: str) -> StoredKey | None:
        query = (
            select(idempotency_keys, test_clocks.c.frozen_time)
            .outerjoin(test_clocks, test_clocks.c.id == _k.test_clock_id)
            .where(_k.owner == owner, _k.key == key)
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return StoredKey(
            row.method,
            row.fingerprint,
            row.state,
            row.payment_id,
            row.recovery_point,
            row.response_code,
            row.response_blob,
            row.created_at,
            row.updated_at,
            row.expires_at,
            row.test_clock_id,
            row.frozen_time,
        )

    async def on_clock(self, owner: str, key: str, test_clock_id: str, expires_at: datetime) -> None:
        await self._conn.execute(
            update(idempotency_keys)
            .where(_k.owner == owner, _k.key == key)
            .values(test_clock_id=test_clock_id, expires_at=expires_at)
        )

    async def complete(self, owner: str, key: str, code: int, blob: bytes, now: datetime) -> None:
        await self._conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.owner == owner, idempotency_keys.c.key == key)
            .values(state=COMPLETED, response_code=code, response_blob=blob, updated_at=now)
        )

    async def release(self, owner: str, key: str) -> None:
        """Forget a claim whose request did not execute, so a retry runs it afresh."""
        await self._conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.owner == owner,
                idempotency_keys.c.key == key,
                idempotency_keys.c.state == IN_FLIGHT,
            )
        )

    async def in_flight_for_payment(self, payment_id: str) -> list[tuple[str, str, str]]:
        """(owner, key, recovery point) of the keys still in flight for a payment."""
        rows = await self._conn.execute(
            select(idempotency_keys.c.owner, idempotency_keys.c.key, idempotency_keys.c.recovery_point).where(
                idempotency_keys.c.payment_id == payment_id, idempotency_keys.c.state == IN_FLIGHT
            )
        )
        return [(r.owner, r.key, r.recovery_point or "") for r in rows]

    async def prune(self, now: datetime) -> int:
        """Delete the keys past their lifetime: on real time, or on their test clock's time."""
        clock_time = select(test_clocks.c.frozen_time).where(test_clocks.c.id == _k.test_clock_id).scalar_subquery()
        on_real_time = and_(_k.test_clock_id.is_(None), _k.expires_at <= now)
        # A key whose clock is gone has no time left to wait for.
        on_clock = and_(_k.test_clock_id.is_not(None), _k.expires_at <= func.coalesce(clock_time, _k.expires_at))
        result = await self._conn.execute(delete(idempotency_keys).where(or_(on_real_time, on_clock)))
        return int(result.rowcount or 0)
