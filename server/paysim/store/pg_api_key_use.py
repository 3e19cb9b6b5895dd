"""``ApiKeyUse`` on PostgreSQL: the key, its merchant's state and the recorded use in one statement
in autocommit on the payment pool.

Through SQLAlchemy a key's first use took a transaction of four statements (the key, the merchant,
the use, the commit), about 1 ms of CPU: a burst of streams spread over many keys (as
``paysim bench-subscriptions`` opens them) spent a sixth of its time there.
"""

from __future__ import annotations

from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from paysim.store.api_key_use import KeyUse
from paysim.store.pg_connection import BoundedAsyncConnection
from paysim.store.pg_statement import autocommit_rows

# The UPDATE runs though the query does not read it (PostgreSQL runs every data-modifying WITH);
# it sees the key as it was before the statement, as the SELECT does.
_USE = """
WITH found AS (
    SELECT k.id, k.merchant_id, k.secret_hash, k.revoked_at IS NOT NULL AS revoked,
           coalesce(m.active, false) AS merchant_active
    FROM api_keys k LEFT JOIN merchants m ON m.id = k.merchant_id
    WHERE k.prefix = %(prefix)s
), used AS (
    UPDATE api_keys k SET last_used_at = %(now)s
    FROM found
    WHERE k.id = found.id AND found.secret_hash = %(digest)s AND NOT found.revoked AND found.merchant_active
      AND (k.last_used_at IS NULL OR k.last_used_at < %(not_since)s)
)
SELECT id, merchant_id, secret_hash, revoked, merchant_active FROM found
"""


class PgApiKeyUse:
    def __init__(self, pool: AsyncConnectionPool[BoundedAsyncConnection]) -> None:
        self._pool = pool

    async def use(self, prefix: str, secret_digest: str, now: datetime, not_since: datetime) -> KeyUse | None:
        rows = await autocommit_rows(
            self._pool, _USE, {"prefix": prefix, "digest": secret_digest, "now": now, "not_since": not_since}
        )
        if not rows:
            return None
        row = rows[0]
        return KeyUse(
            key_id=row.id,
            merchant_id=row.merchant_id,
            secret_hash=row.secret_hash,
            revoked=row.revoked,
            merchant_active=row.merchant_active,
        )
