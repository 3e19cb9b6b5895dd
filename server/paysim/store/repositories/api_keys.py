"""Merchant API keys: found by their public prefix, verified by hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from paysim.domain.duplicates import ApiKeyNameTaken
from paysim.domain.models import ApiKey
from paysim.domain.paging import Cursor
from paysim.store.repositories._common import before, page_query, split_page, unique_values
from paysim.store.schema import api_keys


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        merchant_id=row.merchant_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        secret_hash=row.secret_hash,
    )


# PostgreSQL reports the constraint, SQLite the columns.
KEY_NAME_TAKEN = (ApiKeyNameTaken, ("uq_api_keys_merchant_id_name", "api_keys.merchant_id, api_keys.name"))


class ApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        """Raises ``ApiKeyNameTaken`` when the merchant has a key of this name."""
        with unique_values(KEY_NAME_TAKEN):
            await self._conn.execute(
                insert(api_keys).values(
                    id=key.id,
                    merchant_id=key.merchant_id,
                    name=key.name,
                    prefix=key.prefix,
                    secret_hash=key.secret_hash,
                    created_at=key.created_at,
                    last_used_at=None,
                    revoked_at=None,
                )
            )

    async def get(self, key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        return _key(row) if row else None

    async def find_by_prefix(self, prefix: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(api_keys.c.prefix == prefix))).first()
        return _key(row) if row else None

    async def revoke(self, key_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
        )

    async def touch(self, key_id: str, now: datetime, not_since: datetime) -> None:
        """Record a use, at most once per interval so authentication stays read-mostly."""
        await self._conn.execute(
            update(api_keys)
            .where(
                api_keys.c.id == key_id,
                or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < not_since),
            )
            .values(last_used_at=now)
        )

    async def list_page(self, merchant_id: str, cursor: Cursor | None, limit: int) -> tuple[list[ApiKey], bool]:
        query = (
            select(api_keys)
            .where(api_keys.c.merchant_id == merchant_id, before(api_keys.c.created_at, api_keys.c.id, cursor))
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
        )
        rows = (await self._conn.execute(page_query(query, limit))).all()
        page, more = split_page(rows, limit)
        return [_key(r) for r in page], more
