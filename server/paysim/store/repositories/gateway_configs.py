"""Each merchant's gateway configurations, one row per (merchant, gateway)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, delete, select

from paysim.domain.models import GatewayConfig
from paysim.store.repositories._common import SqlRepository, dialect_insert
from paysim.store.schema import merchant_gateways

_c = merchant_gateways.c


def _config(row: Row[Any]) -> GatewayConfig:
    return GatewayConfig(
        merchant_id=row.merchant_id,
        gateway=row.gateway,
        enabled=bool(row.enabled),
        priority=int(row.priority),
        settings=json.loads(row.settings_json),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _key(merchant_id: str, gateway: str) -> Any:
    return (_c.merchant_id == merchant_id) & (_c.gateway == gateway)


class GatewayConfigRepository(SqlRepository):
    async def list_for_merchant(self, merchant_id: str) -> list[GatewayConfig]:
        """Every configuration of the merchant, disabled ones included, by priority then gateway."""
        query = select(merchant_gateways).where(_c.merchant_id == merchant_id).order_by(_c.priority, _c.gateway)
        return [_config(row) for row in await self._conn.execute(query)]

    async def get(self, merchant_id: str, gateway: str) -> GatewayConfig | None:
        row = (await self._conn.execute(select(merchant_gateways).where(_key(merchant_id, gateway)))).first()
        return _config(row) if row else None

    async def upsert(self, config: GatewayConfig) -> GatewayConfig:
        """Create the row, or replace everything but ``created_at`` in the existing one, in one
        statement so two concurrent first writes cannot both insert. Returns the stored row."""
        changes = {
            "enabled": config.enabled,
            "priority": config.priority,
            "settings_json": json.dumps(dict(config.settings), sort_keys=True, separators=(",", ":")),
            "updated_at": config.updated_at,
        }
        statement = (
            dialect_insert(self._conn.dialect.name, merchant_gateways)
            .values(merchant_id=config.merchant_id, gateway=config.gateway, created_at=config.created_at, **changes)
            .on_conflict_do_update(index_elements=[_c.merchant_id, _c.gateway], set_=changes)
            .returning(*merchant_gateways.c)
        )
        return _config((await self._conn.execute(statement)).one())

    async def delete(self, merchant_id: str, gateway: str) -> bool:
        """Whether there was a row to delete."""
        result = await self._conn.execute(delete(merchant_gateways).where(_key(merchant_id, gateway)))
        return bool(result.rowcount == 1)
