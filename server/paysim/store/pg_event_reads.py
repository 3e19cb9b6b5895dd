"""The event store's frequent reads on PostgreSQL, on the payment pool's psycopg connections.

The process's shared event feed reads after every announced commit and for every burst of
streams opening "from now", and the analytics projector reads each batch it counts. Through
SQLAlchemy one such read cost about 1.5 ms of CPU even when it found nothing (a BEGIN, the
statement, a ROLLBACK, the result's processing): under a continuous stream of opens the feed
reads back to back, and that was most of what a stream cost to open. Here a read is one
statement in autocommit (it needs no transaction: its snapshot and its rows come from the same
statement), prepared once per connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool

from paysim.store.pg_connection import BoundedAsyncConnection
from paysim.store.pg_pool import discard_connection, take_connection
from paysim.store.unit_of_work import database_unavailable, is_connectivity_error


class PgEventReads:
    def __init__(self, pool: AsyncConnectionPool[BoundedAsyncConnection]) -> None:
        self._pool = pool

    async def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The rows of one read-only statement (``%(name)s`` parameters), as named tuples."""
        conn = await take_connection(self._pool)
        usable = True
        try:
            await conn.set_autocommit(True)
            async with conn.cursor(row_factory=namedtuple_row) as cursor:
                await cursor.execute(sql, params, prepare=True)
                return await cursor.fetchall()
        except BaseException as error:
            # Cancelled mid-statement or cut off: the connection's protocol state is unknown, so
            # it is closed and the pool opens another.
            cut_off = is_connectivity_error(error)
            usable = isinstance(error, Exception) and not cut_off
            if not usable:
                await asyncio.shield(discard_connection(self._pool, conn, cut_off=cut_off))
                if isinstance(error, Exception):
                    raise database_unavailable() from error
            raise
        finally:
            if usable and not conn.closed:
                await conn.set_autocommit(False)
            await asyncio.shield(self._pool.putconn(conn))
