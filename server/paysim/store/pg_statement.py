"""One statement in autocommit on a connection of the payment pool, prepared once per connection.

For the frequent small statements that need no transaction of their own (their snapshot, their
rows and, for a data-modifying one, its commit come from the statement itself): through SQLAlchemy
each would also cost a BEGIN, a COMMIT or ROLLBACK and the result's processing, several times the
statement's own CPU.
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


async def autocommit_rows(
    pool: AsyncConnectionPool[BoundedAsyncConnection], sql: str, params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of one statement (``%(name)s`` parameters), as named tuples."""
    conn = await take_connection(pool)
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
            await asyncio.shield(discard_connection(pool, conn, cut_off=cut_off))
            if isinstance(error, Exception):
                raise database_unavailable() from error
        raise
    finally:
        if usable and not conn.closed:
            await conn.set_autocommit(False)
        await asyncio.shield(pool.putconn(conn))
