"""The unit of work of the payment use cases on PostgreSQL: psycopg straight from its own pool.

SQLAlchemy's connection checkout, begin, commit and close cost about as much CPU as the
statements of a payment themselves (measured with `paysim bench`); this unit of work skips them. It
offers only what the payment use cases touch (``ports.PaymentStore``), with the psycopg adapters of
``repositories/pg``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from paysim.domain.errors import Unavailable
from paysim.domain.messages import Message
from paysim.store.pg_batch import PgWriteBatch
from paysim.store.pg_connection import BoundedAsyncConnection, DatabaseLimits, connect_kwargs, conninfo
from paysim.store.repositories.pg.accounts import PgCustomerRepository, PgMerchantRepository
from paysim.store.repositories.pg.idempotency import PgIdempotencyRepository
from paysim.store.repositories.pg.payments import PgPaymentRepository
from paysim.store.repositories.pg.routing_state import PgRoutingStateRepository
from paysim.store.repositories.pg.test_clocks import PgTestClockReader
from paysim.store.unit_of_work import (
    Outcome,
    Publish,
    database_busy,
    database_unavailable,
    end_transaction,
)


def create_pool(database_url: str, size: int, limits: DatabaseLimits) -> AsyncConnectionPool[BoundedAsyncConnection]:
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


def no_connection(pool: AsyncConnectionPool[Any]) -> Unavailable:
    """Why the pool had no connection to give: all of them in use (busy), or it could not open
    one (the database does not answer)."""
    stats = pool.get_stats()
    all_in_use = stats.get("pool_size", 0) >= pool.max_size and not stats.get("pool_available", 0)
    return database_busy() if all_in_use else database_unavailable()


class PgPaymentUnitOfWork:
    def __init__(
        self,
        pool: AsyncConnectionPool[BoundedAsyncConnection],
        *,
        publish: Publish | None = None,
    ) -> None:
        self._pool = pool
        self._conn: BoundedAsyncConnection | None = None
        self._committed = False
        self.outcome = Outcome(publish)

    async def __aenter__(self) -> PgPaymentUnitOfWork:
        try:
            conn = await self._pool.getconn()
        except PoolTimeout as error:
            raise no_connection(self._pool) from error
        except psycopg.OperationalError as error:
            raise database_unavailable() from error
        self._conn = conn
        self._batch = PgWriteBatch()
        self.payments = PgPaymentRepository(conn, self._batch)
        self.idempotency = PgIdempotencyRepository(conn, self._batch)
        self.merchants = PgMerchantRepository(conn)
        self.customers = PgCustomerRepository(conn)
        self.routing = PgRoutingStateRepository(conn)
        self.test_clocks = PgTestClockReader(conn)
        return self

    async def commit(self) -> None:
        """Send the queued writes and COMMIT in one round trip."""
        assert self._conn is not None
        await self._batch.commit(self._conn)
        self._committed = True
        self.outcome.committed(self.payments)

    def notify(self, message: Message) -> None:
        """Tell the process ``message`` once this transaction has committed (never if not)."""
        self.outcome.notify(message)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return

        async def release() -> None:
            # The pool replaces a closed connection instead of handing it out again.
            await self._pool.putconn(conn)

        await end_transaction(exc, self._committed, discard=conn.close, rollback=conn.rollback, release=release)
