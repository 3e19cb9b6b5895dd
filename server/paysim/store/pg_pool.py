"""The payment pool: psycopg connections to PostgreSQL for the payment path and the event store's
frequent reads, taken and given up with the database's trouble reported as the domain's errors.

A connection found cut off (the database restarted, the network failed) means the others idle in
the pool most likely were cut off too, and psycopg's pool would hand each out once more before
learning so: the first calls after a recovery would each fail on one. So the pool tests its idle
connections as soon as one is found cut off, in the background, one test at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from paysim.domain.errors import Unavailable
from paysim.store.pg_connection import BoundedAsyncConnection, DatabaseLimits, connect_kwargs, conninfo
from paysim.store.unit_of_work import database_busy, database_unavailable

Pool = AsyncConnectionPool[BoundedAsyncConnection]


def create_pool(database_url: str, size: int, limits: DatabaseLimits) -> Pool:
    async def bound(conn: BoundedAsyncConnection) -> None:
        conn.answer_seconds = limits.answer_seconds

    dsn = conninfo(database_url)
    return AsyncConnectionPool(
        dsn,
        connection_class=BoundedAsyncConnection,
        configure=bound,
        min_size=1,
        max_size=size,
        timeout=limits.pool_seconds,
        open=False,
        name="paysim-payments",
        kwargs=connect_kwargs(dsn, limits),
    )


async def take_connection(pool: Pool) -> BoundedAsyncConnection:
    """A connection from the pool, or UNAVAILABLE saying why there was none: all of them in use
    (DATABASE_BUSY), or the pool could not open one (DATABASE_UNAVAILABLE)."""
    try:
        return await pool.getconn()
    except PoolTimeout as error:
        raise _no_connection(pool) from error
    except psycopg.OperationalError as error:
        raise database_unavailable() from error


def _no_connection(pool: AsyncConnectionPool[Any]) -> Unavailable:
    stats = pool.get_stats()
    all_in_use = stats.get("pool_size", 0) >= pool.max_size and not stats.get("pool_available", 0)
    return database_busy() if all_in_use else database_unavailable()


async def discard_connection(pool: Pool, conn: BoundedAsyncConnection, *, cut_off: bool) -> None:
    """Close a connection whose state is unknown (cancelled mid-statement, or ``cut_off`` from the
    database); the pool replaces it once it is given back. A cut-off one has the pool test the rest."""
    await conn.close()
    if cut_off:
        _check_idle_connections(pool)


_checks: weakref.WeakKeyDictionary[Pool, asyncio.Task[None]] = weakref.WeakKeyDictionary()


def _check_idle_connections(pool: Pool) -> None:
    running = _checks.get(pool)
    if running is not None and not running.done():
        return
    _checks[pool] = asyncio.get_running_loop().create_task(_check(pool), name="paysim-pool-check")


async def _check(pool: Pool) -> None:
    # Broken ones are dropped and replaced by psycopg; a pool closed meanwhile has nothing to check.
    with contextlib.suppress(Exception):
        await pool.check()
