"""Authenticating with an API key, as the store sees it: find the key by its public prefix, with
whether its merchant is active, and record the use when the key is good.

The use is recorded (``last_used_at``) only for the key's own secret, on a key not revoked, of an
active merchant, and at most once per interval, so authentication stays read-mostly. Two adapters:
``UowApiKeyUse`` (SQLAlchemy, both databases) and, on PostgreSQL, ``PgApiKeyUse``
(``pg_api_key_use``: one statement).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from paysim.store.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class KeyUse:
    key_id: str
    merchant_id: str
    secret_hash: str
    revoked: bool
    merchant_active: bool


class ApiKeyUse(Protocol):
    async def use(self, prefix: str, secret_digest: str, now: datetime, not_since: datetime) -> KeyUse | None:
        """The key with this prefix (None when there is none); its use is recorded at ``now`` when
        ``secret_digest`` is its secret's, it is usable, and it was last used before ``not_since``."""
        ...


class UowApiKeyUse:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def use(self, prefix: str, secret_digest: str, now: datetime, not_since: datetime) -> KeyUse | None:
        async with self._uow() as uow:
            record = await uow.api_keys.find_by_prefix(prefix)
            if record is None:
                return None
            found = KeyUse(
                key_id=record.id,
                merchant_id=record.merchant_id,
                secret_hash=record.secret_hash,
                revoked=record.revoked_at is not None,
                merchant_active=await uow.merchants.is_active(record.merchant_id),
            )
            usable = hmac.compare_digest(record.secret_hash, secret_digest) and not found.revoked
            due = record.last_used_at is None or record.last_used_at < not_since
            if usable and found.merchant_active and due:
                await uow.api_keys.touch(record.id, now, not_since)
                await uow.commit()
        return found
