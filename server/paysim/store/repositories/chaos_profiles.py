"""Chaos profiles per (merchant, gateway), with the count of draws each has taken.

``take_draw`` advances the count with one ``UPDATE … RETURNING`` (a row lock on PostgreSQL; the
write lock SQLite's unit of work holds from BEGIN): two calls in any two processes never get the
same draw, and the count outlives the process.
"""

from __future__ import annotations

import builtins
import json
from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.chaos import ChaosProfile, ChaosSettings
from paysim.store.repositories._common import dialect_insert
from paysim.store.schema import chaos_profiles

_c = chaos_profiles.c


def _profile(row: Row[Any]) -> ChaosProfile:
    settings = ChaosSettings.from_dict(json.loads(row.settings_json))
    return ChaosProfile(row.merchant_id, row.gateway, settings, int(row.draws), row.updated_at)


class ChaosProfileRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _key(self, merchant_id: str, gateway: str) -> Any:
        return (_c.merchant_id == merchant_id) & (_c.gateway == gateway)

    async def get(self, merchant_id: str, gateway: str) -> ChaosProfile | None:
        row = (await self._conn.execute(select(chaos_profiles).where(self._key(merchant_id, gateway)))).first()
        return _profile(row) if row else None

    async def list_for(self, merchant_id: str) -> builtins.list[ChaosProfile]:
        query = select(chaos_profiles).where(_c.merchant_id == merchant_id).order_by(_c.gateway)
        return [_profile(row) for row in await self._conn.execute(query)]

    async def gateways(self, merchant_id: str) -> frozenset[str]:
        """The gateways the merchant has a profile for (routing reads this with its breakers)."""
        rows = await self._conn.execute(select(_c.gateway).where(_c.merchant_id == merchant_id))
        return frozenset(rows.scalars())

    async def put(self, profile: ChaosProfile) -> None:
        """Store ``profile`` in place of any other, with its own count of draws."""
        blob = json.dumps(profile.settings.to_dict(), separators=(",", ":"), sort_keys=True)
        values = {"settings_json": blob, "draws": profile.draws, "updated_at": profile.updated_at}
        upsert = dialect_insert(self._conn.dialect.name, chaos_profiles).values(
            merchant_id=profile.merchant_id, gateway=profile.gateway, **values
        )
        await self._conn.execute(upsert.on_conflict_do_update(index_elements=[_c.merchant_id, _c.gateway], set_=values))

    async def delete(self, merchant_id: str, gateway: str = "") -> int:
        """Remove one gateway's profile, or every profile of the merchant; returns how many."""
        where = self._key(merchant_id, gateway) if gateway else _c.merchant_id == merchant_id
        result = await self._conn.execute(delete(chaos_profiles).where(where))
        return int(result.rowcount or 0)

    async def take_draw(self, merchant_id: str, gateway: str) -> tuple[ChaosSettings, int] | None:
        """The profile's settings and the number of the draw just taken, or None without a profile."""
        statement = (
            update(chaos_profiles)
            .where(self._key(merchant_id, gateway))
            .values(draws=_c.draws + 1)
            .returning(_c.settings_json, _c.draws)
        )
        row = (await self._conn.execute(statement)).first()
        if row is None:
            return None
        return ChaosSettings.from_dict(json.loads(row.settings_json)), int(row.draws) - 1
