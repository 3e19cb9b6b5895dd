"""The unit of work: one transaction, the repositories bound to it, an explicit commit.

    async with uow_factory() as uow:
        user = await uow.users.get(user_id)
        ...
        await uow.commit()

Leaving the block without ``commit()`` rolls back. Database outages surface as the domain's
``Unavailable`` so clients get UNAVAILABLE with RetryInfo rather than INTERNAL: reason
DATABASE_UNAVAILABLE when the database does not answer, DATABASE_BUSY when no pooled connection
came free in time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from paysim.domain.errors import Aborted, Unavailable
from paysim.domain.messages import Message, PaymentEventsCommitted, WebhookDeliveriesWritten
from paysim.observability import metrics
from paysim.store.repositories import (
    ApiKeyRepository,
    CircuitBreakerRepository,
    CustomerRepository,
    GatewayConfigRepository,
    GatewayFaultRepository,
    IdempotencyRepository,
    LoginThrottleRepository,
    MerchantRepository,
    PaymentRepository,
    RefreshTokenRepository,
    ThreeDSPolicyRepository,
    UserRepository,
    WebhookDeliveryRepository,
    WebhookEndpointRepository,
)
from paysim.store.repositories.chaos_profiles import ChaosProfileRepository
from paysim.store.repositories.clock_references import ClockReferenceRepository
from paysim.store.repositories.disputes import DisputeRepository
from paysim.store.repositories.payments import PaymentEventStore
from paysim.store.repositories.routing_state import RoutingStateRepository
from paysim.store.repositories.test_clocks import TestClockRepository

TRANSACTION_CONFLICT = "TRANSACTION_CONFLICT"


def is_transaction_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure: the database rolled back; running again will do."""
    if isinstance(error, sa_exc.DBAPIError):
        error = error.orig or error
    return isinstance(error, psycopg.errors.TransactionRollback)


def transaction_conflict() -> Aborted:
    return Aborted(
        "the transaction conflicted with another; retry", reason=TRANSACTION_CONFLICT, retry_after_seconds=0.05
    )


def database_unavailable() -> Unavailable:
    return Unavailable("the database is unreachable", reason="DATABASE_UNAVAILABLE")


def database_busy() -> Unavailable:
    """Every pooled connection stayed in use for as long as a call may wait for one: the server
    is overloaded, the database is fine (health stays SERVING)."""
    return Unavailable("every database connection of this server is in use; retry shortly", reason="DATABASE_BUSY")


def unavailable(error: BaseException) -> Unavailable:
    """The domain's error for a connectivity error (``is_connectivity_error``)."""
    return database_busy() if isinstance(error, sa_exc.TimeoutError) else database_unavailable()


def is_connectivity_error(error: BaseException) -> bool:
    if is_transaction_conflict(error):
        return False
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return not isinstance(error, sa_exc.IntegrityError)
    # Raised by psycopg itself in the PostgreSQL payment unit of work, where SQLAlchemy does not wrap them.
    return isinstance(error, ConnectionError | psycopg.OperationalError | psycopg.InterfaceError)


class UnitOfWork:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        publish: Publish | None = None,
    ) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._committed = False
        self.outcome = Outcome(publish)

    async def __aenter__(self) -> UnitOfWork:
        try:
            self._conn = await self._engine.connect()
            await self._conn.begin()
        except BaseException as error:
            # Also on cancellation: SQLite takes its write lock at BEGIN, and a connection left
            # behind here would hold it until garbage collection.
            conn, self._conn = self._conn, None
            if conn is not None:
                await asyncio.shield(conn.invalidate())
                await asyncio.shield(conn.close())
            if isinstance(error, Exception) and is_connectivity_error(error):
                raise unavailable(error) from error
            raise
        conn = self._conn
        self.merchants = MerchantRepository(conn)
        self.users = UserRepository(conn)
        self.login_throttles = LoginThrottleRepository(conn)
        self.refresh_tokens = RefreshTokenRepository(conn)
        self.api_keys = ApiKeyRepository(conn)
        self.customers = CustomerRepository(conn)
        self.payments = PaymentRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.circuit_breakers = CircuitBreakerRepository(conn)
        self.gateway_faults = GatewayFaultRepository(conn)
        self.routing = RoutingStateRepository(conn)
        self.gateway_configs = GatewayConfigRepository(conn)
        self.three_ds_policies = ThreeDSPolicyRepository(conn)
        self.test_clocks = TestClockRepository(conn)
        self.chaos_profiles = ChaosProfileRepository(conn)
        self.clock_references = ClockReferenceRepository(conn)
        self.disputes = DisputeRepository(conn)
        self.webhook_endpoints = WebhookEndpointRepository(conn)
        self.webhook_deliveries = WebhookDeliveryRepository(conn)
        return self

    def notify(self, message: Message) -> None:
        """Tell the process ``message`` once this transaction has committed (never if not)."""
        self.outcome.notify(message)

    async def commit(self) -> None:
        assert self._conn is not None
        await self._conn.commit()
        self._committed = True
        self.outcome.committed(self.payments)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await end_transaction(
                exc, self._committed, discard=conn.invalidate, rollback=conn.rollback, release=conn.close
            )


async def end_transaction(
    exc: BaseException | None,
    committed: bool,
    *,
    discard: Callable[[], Awaitable[None]],
    rollback: Callable[[], Awaitable[None]],
    release: Callable[[], Awaitable[None]],
) -> None:
    """End a unit of work's transaction whatever happened, and report database trouble as the
    domain's errors (UNAVAILABLE, ABORTED) rather than INTERNAL."""
    interrupted = exc is not None and not isinstance(exc, Exception)
    try:
        if interrupted or (exc is not None and is_connectivity_error(exc)):
            # Cancelled mid-statement (a client deadline, a shutdown) or cut off: the connection's
            # protocol state is unknown. Never hand it to the next request.
            await asyncio.shield(discard())
        elif not committed:
            await rollback()
    except Exception as cleanup_error:
        # A dead connection cannot roll back; the server already discarded the transaction.
        # Report the original error if there is one.
        if exc is None:
            if is_connectivity_error(cleanup_error):
                raise unavailable(cleanup_error) from None
            raise
    finally:
        await asyncio.shield(release())
    if exc is not None and is_transaction_conflict(exc):
        raise transaction_conflict() from exc
    if exc is not None and is_connectivity_error(exc):
        raise unavailable(exc) from exc


Publish = Callable[[Sequence[Message]], None]


class Outcome:
    """The messages a unit of work hands to the bus after its commit: those its caller noted,
    and what the payment store wrote (events, webhook deliveries)."""

    def __init__(self, publish: Publish | None) -> None:
        self._publish = publish
        self._messages: list[Message] = []

    def notify(self, message: Message) -> None:
        if message not in self._messages:
            self._messages.append(message)

    def committed(self, payments: PaymentEventStore) -> None:
        # Counted only now: a transaction rolled back (and retried) counts once.
        metrics.count_payments(payments)
        if payments.wrote_events:
            payments.wrote_events = False
            self.notify(PaymentEventsCommitted())
        if payments.outbox_rows:
            payments.outbox_rows = 0
            self.notify(WebhookDeliveriesWritten())
        messages, self._messages = self._messages, []
        if messages and self._publish is not None:
            self._publish(messages)


UnitOfWorkFactory = Callable[[], UnitOfWork]
