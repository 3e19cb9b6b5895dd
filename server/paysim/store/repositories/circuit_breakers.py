"""Circuit breaker state per (scope, gateway), shared by every server process.

A writer reads the row (locked on PostgreSQL with ``get_for_update``), applies a pure function and
saves with the version it read: an insert when there was no row (version 0), otherwise an update
guarded by the version. A writer that lost a race gets the domain's ``Aborted``
(CONCURRENT_MODIFICATION) and runs again.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.circuit_breaker import BreakerState
from paysim.domain.errors import Aborted
from paysim.store.repositories._common import dialect_insert
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.schema import circuit_breakers


@dataclass(frozen=True, slots=True)
class StoredBreaker:
    scope: str
    gateway: str
    state: BreakerState
    version: int
    updated_at: datetime


def breaker_conflict(scope: str, gateway: str) -> Aborted:
    return Aborted(
        "the circuit breaker changed concurrently; retry",
        reason=CONCURRENT_MODIFICATION,
        retry_after_seconds=0.05,
        metadata={"scope": scope, "gateway": gateway},
    )


def _stored(row: Row[Any]) -> StoredBreaker:
    return StoredBreaker(
        scope=row.scope,
        gateway=row.gateway,
        state=BreakerState.from_dict(json.loads(row.state_json)),
        version=int(row.version),
        updated_at=row.updated_at,
    )


def _dumps(state: BreakerState) -> str:
    return json.dumps(state.to_dict(), separators=(",", ":"), sort_keys=True)


class CircuitBreakerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _key(self, scope: str, gateway: str) -> Any:
        return (circuit_breakers.c.scope == scope) & (circuit_breakers.c.gateway == gateway)

    async def get(self, scope: str, gateway: str) -> StoredBreaker | None:
        row = (await self._conn.execute(select(circuit_breakers).where(self._key(scope, gateway)))).first()
        return _stored(row) if row else None

    async def get_for_update(self, scope: str, gateway: str) -> StoredBreaker | None:
        """The row, locked until the transaction ends on PostgreSQL (SQLite's unit of work already
        holds the database's write lock from BEGIN IMMEDIATE)."""
        query = select(circuit_breakers).where(self._key(scope, gateway)).with_for_update()
        row = (await self._conn.execute(query)).first()
        return _stored(row) if row else None

    async def save(self, scope: str, gateway: str, state: BreakerState, expected_version: int, *, now: datetime) -> int:
        """Write ``state`` over the version read (0: there was no row). Returns the new version;
        raises ``Aborted`` (CONCURRENT_MODIFICATION) when someone else wrote in between."""
        version = expected_version + 1
        if expected_version == 0:
            insert = (
                dialect_insert(self._conn.dialect.name, circuit_breakers)
                .values(scope=scope, gateway=gateway, state_json=_dumps(state), version=version, updated_at=now)
                .on_conflict_do_nothing(index_elements=[circuit_breakers.c.scope, circuit_breakers.c.gateway])
                .returning(circuit_breakers.c.version)
            )
            written = (await self._conn.execute(insert)).first() is not None
        else:
            guarded = (
                update(circuit_breakers)
                .where(self._key(scope, gateway), circuit_breakers.c.version == expected_version)
                .values(state_json=_dumps(state), version=version, updated_at=now)
            )
            written = (await self._conn.execute(guarded)).rowcount == 1
        if not written:
            raise breaker_conflict(scope, gateway)
        return version

    async def list(self, scope: str) -> builtins.list[StoredBreaker]:
        """Every breaker of ``scope``, by gateway name."""
        rows = await self._conn.execute(
            select(circuit_breakers).where(circuit_breakers.c.scope == scope).order_by(circuit_breakers.c.gateway)
        )
        return [_stored(row) for row in rows]
