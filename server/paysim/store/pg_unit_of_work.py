"""The payment hot path's unit of work on PostgreSQL: psycopg straight from its own pool.

SQLAlchemy's connection checkout, begin, commit and close cost about as much CPU as the
statements of a payment themselves (DESIGN.md §8); this unit of work skips them. It offers only
what the payment use cases touch, with the same repository classes, in their psycopg mode.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from paysim.domain.errors import Unavailable
from paysim.store.pg_batch import PgWriteBatch
from paysim.store.repositories import CustomerRepository, IdempotencyRepository, MerchantRepository, PaymentRepository
from paysim.store.repositories.routing_state import RoutingStateRepository
from paysim.store.unit_of_work import announce_events, announce_outbox, end_transaction


def conninfo(database_url: str) -> str:
    """The libpq URI of a SQLAlchemy database URL (query options such as search_path kept)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_pool(database_url: str, size: int) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    return AsyncConnectionPool(
        conninfo(database_url),
        min_size=1,
        max_size=size,
        timeout=10,
        open=False,
        name="paysim-hot-path",
        kwargs={"connect_timeout": 5},
    )


def _unavailable() -> Unavailable:
    return Unavailable("the database is unreachable", reason="DATABASE_UNAVAILABLE")


class PgUnitOfWork:
    def __init__(
        self,
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]],
        *,
        outbox_written: Callable[[], None] | None = None,
        events_committed: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._outbox_written = outbox_written
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._committed = False
        # Called after a commit that appended payment events (the event bus).
        self._events_committed = events_committed

    async def __aenter__(self) -> PgUnitOfWork:
        try:
            conn = await self._pool.getconn()
        except (PoolTimeout, psycopg.OperationalError) as error:
            raise _unavailable() from error
        self._conn = conn
        self._batch = PgWriteBatch()
        self.payments = PaymentRepository(None, conn, self._batch)
        self.idempotency = IdempotencyRepository(None, conn, self._batch)
        self.merchants = MerchantRepository(None, conn)
        self.customers = CustomerRepository(None, conn)
        self.routing = RoutingStateRepository(None, conn)
        return self

    async def commit(self) -> None:
        """Send the queued writes and COMMIT in one round trip."""
        assert self._conn is not None
        await self._batch.commit(self._conn)
        self._committed = True
        announce_outbox(self.payments, self._outbox_written)
        announce_events(self.payments, self._events_committed)

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
