"""What the payment use cases need of the store, whatever the engine behind it.

Two units of work provide it: ``UnitOfWork`` (SQLAlchemy, on SQLite and PostgreSQL) with the
repositories of ``store/repositories``, and on PostgreSQL ``PgPaymentUnitOfWork`` (psycopg straight,
writes sent with the commit) with those of ``store/repositories/pg``. Both kinds of adapter pass
the same contract tests (tests/store/test_repository_contract.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from paysim.domain import payment
from paysim.domain.models import Customer, Merchant
from paysim.domain.test_clocks import TestClock
from paysim.store.repositories.idempotency import StoredKey
from paysim.store.repositories.payments import StoredEvent
from paysim.store.repositories.routing_state import RoutingState


class PaymentPort(Protocol):
    # Bookkeeping its unit of work reads and resets after the commit.
    outbox_rows: int
    wrote_events: bool

    async def get(self, payment_id: str, *, for_update: bool = False) -> payment.PaymentState | None: ...

    async def save(
        self, before: payment.PaymentState | None, after: payment.PaymentState, events: Sequence[payment.PaymentEvent]
    ) -> list[StoredEvent]:
        """Append ``events`` and write the projection. A writer that lost the race since ``before``
        gets ``Aborted`` (CONCURRENT_MODIFICATION), from this call or at the latest from the commit."""
        ...


class IdempotencyPort(Protocol):
    async def claim(
        self,
        owner: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        *,
        payment_id: str = "",
        recovery_point: str = "",
    ) -> StoredKey | None: ...

    async def reserve(
        self,
        owner: str,
        key: str,
        method: str,
        fingerprint: str,
        now: datetime,
        expires_at: datetime,
        *,
        payment_id: str = "",
    ) -> StoredKey | None:
        """``claim``, or a claim sent with the commit: then a taken key surfaces as the commit's
        ``KeyAlreadyClaimed`` (store/pg_batch.py) instead of being returned here."""
        ...

    async def get(self, owner: str, key: str) -> StoredKey | None: ...

    async def on_clock(self, owner: str, key: str, test_clock_id: str, expires_at: datetime) -> None:
        """The key's request is about a payment on a test clock: it expires then on that clock."""
        ...

    async def complete(self, owner: str, key: str, code: int, blob: bytes, now: datetime) -> None: ...


class MerchantPort(Protocol):
    async def get(self, merchant_id: str) -> Merchant | None: ...


class CustomerPort(Protocol):
    async def get(self, customer_id: str) -> Customer | None: ...


class TestClockPort(Protocol):
    async def get(self, clock_id: str, *, for_share: bool = False) -> TestClock | None:
        """``for_share``: an advance cannot start until this transaction ends, so what it writes
        at the clock's time is there before the advance runs what falls due after it."""
        ...


class RoutingStatePort(Protocol):
    async def load(self, merchant_id: str) -> RoutingState: ...


class PaymentStore(Protocol):
    """The unit of work of a payment's own transactions (create, capture, void, refund)."""

    @property
    def payments(self) -> PaymentPort: ...

    @property
    def idempotency(self) -> IdempotencyPort: ...

    @property
    def merchants(self) -> MerchantPort: ...

    @property
    def customers(self) -> CustomerPort: ...

    @property
    def routing(self) -> RoutingStatePort: ...

    @property
    def test_clocks(self) -> TestClockPort: ...

    async def commit(self) -> None: ...

    async def __aenter__(self) -> PaymentStore: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
