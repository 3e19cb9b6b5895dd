"""Durable idempotency keys: claimed by INSERT under a primary key, completed with the response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from paysim.store.repositories._common import DualRepository, dialect_insert
from paysim.store.schema import idempotency_keys

IN_FLIGHT = "in_flight"
COMPLETED = "completed"


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


_PG_CLAIM = (
    "INSERT INTO idempotency_keys (merchant_id, key, method, fingerprint, state, payment_id, recovery_point,"
    " created_at, updated_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (merchant_id, key) DO NOTHING RETURNING key"
)
_PG_RESERVE = (
    "INSERT INTO idempotency_keys (merchant_id, key, method, fingerprint, state, payment_id,"
    " created_at, updated_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PG_GET = (
    "SELECT method, fingerprint, state, payment_id, recovery_point, response_code, response_blob, created_at,"
    " updated_at, expires_at FROM idempotency_keys WHERE merchant_id = %s AND key = %s"
)
_PG_DELETE = "DELETE FROM idempotency_keys WHERE merchant_id = %s AND key = %s"
_PG_COMPLETE = (
    "UPDATE idempotency_keys SET state = %s, response_code = %s, response_blob = %s, updated_at = %s"
    " WHERE merchant_id = %s AND key = %s"
)


class IdempotencyRepository(DualRepository):
    async def claim(
        self,
        merchant_id: str,
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
        if self._pg is not None:
            cur = await self._pg.execute(
                _PG_CLAIM,
                (
                    merchant_id,
                    key,
                    method,
                    fingerprint,
                    IN_FLIGHT,
                    payment_id or None,
                    recovery_point or None,
                    now,
                    now,
                    expires_at,
                ),
            )
            if await cur.fetchone() is not None:
                return None
            return await self._existing(
                merchant_id, key, method, fingerprint, now, expires_at, payment_id, recovery_point
            )
        stmt = (
            dialect_insert(self._db.dialect.name, idempotency_keys)
            .values(
                merchant_id=merchant_id,
                key=key,
                method=method,
                fingerprint=fingerprint,
                state=IN_FLIGHT,
                payment_id=payment_id or None,
                recovery_point=recovery_point or None,
                created_at=now,
                updated_at=now,
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(index_elements=[idempotency_keys.c.merchant_id, idempotency_keys.c.key])
            .returning(idempotency_keys.c.key)
        )
        if (await self._db.execute(stmt)).first() is not None:
            return None
        return await self._existing(merchant_id, key, method, fingerprint, now, expires_at, payment_id, recovery_point)

    async def reserve(
        self,
        merchant_id: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        *,
        payment_id: str = "",
    ) -> StoredKey | None:
        """Like ``claim``, optimistically where the writes wait for the commit: the key is inserted
        with them, and an existing key surfaces at commit as ``KeyAlreadyClaimed`` (then the
        caller takes the ``claim`` path). Saves a round trip for the common, first-time key."""
        if self._batch is None:
            return await self.claim(merchant_id, key, method, fingerprint, now, expires_at, payment_id=payment_id)
        self._batch.add(
            _PG_RESERVE, (merchant_id, key, method, fingerprint, IN_FLIGHT, payment_id or None, now, now, expires_at)
        )
        return None

    async def _existing(
        self,
        merchant_id: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        payment_id: str,
        recovery_point: str,
    ) -> StoredKey | None:
        existing = await self.get(merchant_id, key)
        if existing is not None and existing.expires_at <= now:
            # Past its lifetime and not yet pruned: the key is free again.
            if self._pg is not None:
                await self._pg.execute(_PG_DELETE, (merchant_id, key))
                return await self.claim(
                    merchant_id,
                    key,
                    method,
                    fingerprint,
                    now,
                    expires_at,
                    payment_id=payment_id,
                    recovery_point=recovery_point,
                )
            await self._db.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.merchant_id == merchant_id, idempotency_keys.c.key == key
                )
            )
            return await self.claim(
                merchant_id,
                key,
                method,
                fingerprint,
                now,
                expires_at,
                payment_id=payment_id,
                recovery_point=recovery_point,
            )
        return existing

    async def get(self, merchant_id: str, key: str) -> StoredKey | None:
        if self._pg is not None:
            cur = await self._pg.execute(_PG_GET, (merchant_id, key))
            found = await cur.fetchone()
            if found is None:
                return None
            method, fingerprint, state, payment_id, point, code, blob, created, updated, expires = found
            return StoredKey(
                method,
                fingerprint,
                state,
                payment_id,
                point,
                code,
                bytes(blob) if blob is not None else None,
                created.astimezone(UTC),
                updated.astimezone(UTC),
                expires.astimezone(UTC),
            )
        row = (
            await self._db.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.merchant_id == merchant_id, idempotency_keys.c.key == key
                )
            )
        ).first()
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
        )

    async def complete(self, merchant_id: str, key: str, code: int, blob: bytes, now: datetime) -> None:
        if self._batch is not None:  # written with the commit, atomically with the outcome
            self._batch.add(_PG_COMPLETE, (COMPLETED, code, blob, now, merchant_id, key))
            return
        await self._db.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.merchant_id == merchant_id, idempotency_keys.c.key == key)
            .values(state=COMPLETED, response_code=code, response_blob=blob, updated_at=now)
        )

    async def release(self, merchant_id: str, key: str) -> None:
        """Forget a claim whose request did not execute, so a retry runs it afresh."""
        await self._db.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.merchant_id == merchant_id,
                idempotency_keys.c.key == key,
                idempotency_keys.c.state == IN_FLIGHT,
            )
        )

    async def in_flight_for_payment(self, payment_id: str) -> list[tuple[str, str, str]]:
        """(scope, key, recovery point) of the keys still in flight for a payment."""
        rows = await self._db.execute(
            select(idempotency_keys.c.merchant_id, idempotency_keys.c.key, idempotency_keys.c.recovery_point).where(
                idempotency_keys.c.payment_id == payment_id, idempotency_keys.c.state == IN_FLIGHT
            )
        )
        return [(r.merchant_id, r.key, r.recovery_point or "") for r in rows]

    async def prune(self, now: datetime) -> int:
        result = await self._db.execute(delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now))
        return int(result.rowcount or 0)
