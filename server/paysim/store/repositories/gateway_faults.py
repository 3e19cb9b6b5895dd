"""Simulated gateway faults per (scope, gateway).

A change reads the row locked (``get_for_update``: FOR UPDATE on PostgreSQL; SQLite's unit of work
holds the write lock from BEGIN IMMEDIATE) and writes it back with an upsert, so two processes taking
steps of one script each take a different step. An empty row is deleted rather than kept.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.gateway_faults import GatewayFaults
from paysim.store.repositories._common import dialect_insert
from paysim.store.schema import gateway_faults


def _faults(row: Row[Any]) -> GatewayFaults:
    return GatewayFaults.from_dict(row.scope, row.gateway, json.loads(row.faults_json), row.updated_at)


class GatewayFaultRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _key(self, scope: str, gateway: str) -> Any:
        return (gateway_faults.c.scope == scope) & (gateway_faults.c.gateway == gateway)

    async def for_scopes(self, scopes: Sequence[str]) -> builtins.list[GatewayFaults]:
        """Every gateway's faults in any of ``scopes`` (a merchant and the platform)."""
        rows = await self._conn.execute(
            select(gateway_faults)
            .where(gateway_faults.c.scope.in_(list(scopes)))
            .order_by(gateway_faults.c.scope, gateway_faults.c.gateway)
        )
        return [_faults(row) for row in rows]

    async def get_for_update(self, scope: str, gateway: str) -> GatewayFaults | None:
        query = select(gateway_faults).where(self._key(scope, gateway)).with_for_update()
        row = (await self._conn.execute(query)).first()
        return _faults(row) if row else None

    async def save(self, faults: GatewayFaults, now: datetime) -> None:
        if faults.is_empty(now):
            await self._conn.execute(delete(gateway_faults).where(self._key(faults.scope, faults.gateway)))
            return
        blob = json.dumps(faults.to_dict(), separators=(",", ":"), sort_keys=True)
        upsert = dialect_insert(self._conn.dialect.name, gateway_faults).values(
            scope=faults.scope, gateway=faults.gateway, faults_json=blob, updated_at=now
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=[gateway_faults.c.scope, gateway_faults.c.gateway],
            set_={"faults_json": blob, "updated_at": now},
        )
        await self._conn.execute(upsert)
