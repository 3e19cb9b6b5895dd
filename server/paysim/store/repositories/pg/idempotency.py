"""Idempotency keys on the PostgreSQL payment unit of work: claims at once, first-time keys and
completions with the commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from paysim.store.pg_batch import PgWriteBatch
from paysim.store.repositories.idempotency import COMPLETED, IN_FLIGHT, KeyClaims, StoredKey

# The columns of ``CLAIM_COLUMNS``, in that order.
_CLAIM = (
    "INSERT INTO idempotency_keys (owner, key, method, fingerprint, state, payment_id, recovery_point,"
    " created_at, updated_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (owner, key) DO NOTHING RETURNING key"
)
_RESERVE = (
    "INSERT INTO idempotency_keys (owner, key, method, fingerprint, state, payment_id,"
    " created_at, updated_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_GET = (
    "SELECT k.method, k.fingerprint, k.state, k.payment_id, k.recovery_point, k.response_code, k.response_blob,"
    " k.created_at, k.updated_at, k.expires_at, k.test_clock_id, c.frozen_time FROM idempotency_keys k"
    " LEFT JOIN test_clocks c ON c.id = k.test_clock_id WHERE k.owner = %s AND k.key = %s"
)
_ON_CLOCK = "UPDATE idempotency_keys SET test_clock_id = %s, expires_at = %s WHERE owner = %s AND key = %s"
_DELETE = "DELETE FROM idempotency_keys WHERE owner = %s AND key = %s"
_COMPLETE = (
    "UPDATE idempotency_keys SET state = %s, response_code = %s, response_blob = %s, updated_at = %s"
    " WHERE owner = %s AND key = %s"
)


class PgIdempotencyRepository(KeyClaims):
    def __init__(self, conn: psycopg.AsyncConnection[Any], batch: PgWriteBatch) -> None:
        self._conn = conn
        self._batch = batch

    async def _insert_if_absent(self, row: tuple[Any, ...]) -> bool:
        cur = await self._conn.execute(_CLAIM, row)
        return await cur.fetchone() is not None

    async def _delete(self, owner: str, key: str) -> None:
        await self._conn.execute(_DELETE, (owner, key))

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
        """Like ``claim``, optimistically: the key is inserted with the commit's writes, and an
        existing key surfaces at commit as ``KeyAlreadyClaimed`` (then the caller takes the
        ``claim`` path). Saves a round trip for the common, first-time key."""
        self._batch.add(
            _RESERVE, (owner, key, method, fingerprint, IN_FLIGHT, payment_id or None, now, now, expires_at)
        )
        return None

    async def get(self, owner: str, key: str) -> StoredKey | None:
        cur = await self._conn.execute(_GET, (owner, key))
        found = await cur.fetchone()
        if found is None:
            return None
        method, fingerprint, state, payment_id, point, code, blob, created, updated, expires, clock_id, clock = found
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
            clock_id,
            clock.astimezone(UTC) if clock is not None else None,
        )

    async def on_clock(self, owner: str, key: str, test_clock_id: str, expires_at: datetime) -> None:
        # With the commit's writes, after the claim (or the reservation) it belongs to.
        self._batch.add(_ON_CLOCK, (test_clock_id, expires_at, owner, key))

    async def complete(self, owner: str, key: str, code: int, blob: bytes, now: datetime) -> None:
        # Written with the commit, atomically with the outcome.
        self._batch.add(_COMPLETE, (COMPLETED, code, blob, now, owner, key))
