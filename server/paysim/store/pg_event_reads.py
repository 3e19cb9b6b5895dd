"""The event store's frequent reads on PostgreSQL, on the payment pool's psycopg connections.

The process's shared event feed reads after every announced commit and for every burst of
streams opening "from now", and the analytics projector reads each batch it counts. Through
SQLAlchemy one such read cost about 1.5 ms of CPU even when it found nothing (a BEGIN, the
statement, a ROLLBACK, the result's processing): under a continuous stream of opens the feed
reads back to back, and that was most of what a stream cost to open. Here a read is one
statement in autocommit (it needs no transaction: its snapshot and its rows come from the same
statement), prepared once per connection (``pg_statement``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from paysim.store.pg_connection import BoundedAsyncConnection
from paysim.store.pg_statement import autocommit_rows


class PgEventReads:
    def __init__(self, pool: AsyncConnectionPool[BoundedAsyncConnection]) -> None:
        self._pool = pool

    async def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The rows of one read-only statement (``%(name)s`` parameters), as named tuples."""
        return await autocommit_rows(self._pool, sql, params)
