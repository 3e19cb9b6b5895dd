"""The unit of work of the payment use cases on PostgreSQL: psycopg straight from its own pool.

SQLAlchemy's connection checkout, begin, commit and close cost about as much CPU as the
statements of a payment themselves (measured with `paysim bench`); this unit of work skips them. It
offers only what the payment use cases touch (``ports.PaymentStore``), with the psycopg adapters of
``repositories/pg``.
"""

from __future__ import annotations

from types import TracebackType

from psycopg_pool import AsyncConnectionPool

from paysim.domain.messages import Message
from paysim.store.pg_batch import PgWriteBatch
from paysim.store.pg_connection import BoundedAsyncConnection
from paysim.store.pg_pool import discard_connection, take_connection
from paysim.store.repositories.pg.accounts import PgCustomerRepository, PgMerchantRepository
from paysim.store.repositories.pg.idempotency import PgIdempotencyRepository
from paysim.store.repositories.pg.payments import PgPaymentRepository
from paysim.store.repositories.pg.routing_state import PgRoutingStateRepository
from paysim.store.repositories.pg.test_clocks import PgTestClockReader
from paysim.store.unit_of_work import Outcome, Publish, end_transaction, is_connectivity_error


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
        conn = await take_connection(self._pool)
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

        async def discard() -> None:
            await discard_connection(self._pool, conn, cut_off=exc is not None and is_connectivity_error(exc))

        await end_transaction(exc, self._committed, discard=discard, rollback=conn.rollback, release=release)
