"""Each merchant's 3-D Secure policy, in a table of its own (one row per merchant that set one)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.threeds import Policy, policy_from
from paysim.store.repositories._common import dialect_insert
from paysim.store.schema import three_ds_policies


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    merchant_id: str
    policy: Policy
    updated_at: datetime | None  # None: never set, the default applies


class ThreeDSPolicyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, merchant_id: str) -> StoredPolicy | None:
        row = (
            await self._conn.execute(select(three_ds_policies).where(three_ds_policies.c.merchant_id == merchant_id))
        ).first()
        if row is None:
            return None
        return StoredPolicy(row.merchant_id, policy_from(row.mode, json.loads(row.thresholds_json)), row.updated_at)

    async def put(self, merchant_id: str, policy: Policy, now: datetime) -> StoredPolicy:
        """Replace the merchant's policy (the last writer wins)."""
        values = {
            "mode": policy.mode.value,
            "thresholds_json": json.dumps(policy.to_dict(), separators=(",", ":"), sort_keys=True),
            "updated_at": now,
        }
        stmt = dialect_insert(self._conn.dialect.name, three_ds_policies).values(merchant_id=merchant_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[three_ds_policies.c.merchant_id], set_=values)
        await self._conn.execute(stmt)
        return StoredPolicy(merchant_id, policy, now)
