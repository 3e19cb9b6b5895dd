"""What falls due on a test clock's objects as the clock advances: the ``ClockTransitions``
sources of services/test_clocks.py. Each runs, in time order, the transitions of one kind due up
to a time, each event at the time its transition fell due; each is idempotent (a transition done
is not due any more), so a retried advance runs nothing twice.

- authorization expiry: an uncaptured authorization, 7 days after its payment was created;
- 3-D Secure challenge expiry: a challenge not answered, 15 minutes after it was issued;
- refund settlement: an asynchronous refund, when it settles (domain/refund_settlement.py);
- webhook attempts: a delivery of an event of the clock's payments, at the event's time, and a
  failed one's retries on the webhook schedule counted on the clock (services/webhook_dispatch.py).
  Last among the sources, so an event's delivery goes after the transitions due at its time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from paysim.domain import payment_rules, threeds
from paysim.domain.payment_values import Status
from paysim.domain.test_clocks import TestClock
from paysim.services.authorization_expiry import AuthorizationExpiry
from paysim.services.refund_settlement import RefundSettlement
from paysim.services.threeds import ThreeDSService
from paysim.services.webhook_dispatch import WebhookDispatcher
from paysim.store.unit_of_work import UnitOfWorkFactory

_PAGE = 100


def _due(earliest: datetime | None, after: timedelta, up_to: datetime) -> datetime | None:
    """When the earliest transition of a kind falls due (``after`` its object's time), if by ``up_to``."""
    if earliest is None or earliest + after > up_to:
        return None
    return earliest + after


class AuthorizationExpiryOnClock:
    def __init__(self, uow: UnitOfWorkFactory, expiry: AuthorizationExpiry) -> None:
        self._uow = uow
        self._expiry = expiry

    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        async with self._uow() as uow:
            earliest = await uow.payments.earliest_on_clock(clock.id, "created_at", Status.AUTHORIZED.value)
        return _due(earliest, payment_rules.AUTHORIZATION_VALIDITY, up_to)

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        ran = 0
        while (page := await self._expiry.expire_due(_PAGE, test_clock_id=clock.id, up_to=up_to)) > 0:
            ran += page
        return ran


class ChallengeExpiryOnClock:
    def __init__(self, uow: UnitOfWorkFactory, three_ds: ThreeDSService) -> None:
        self._uow = uow
        self._three_ds = three_ds

    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        async with self._uow() as uow:
            earliest = await uow.payments.earliest_on_clock(clock.id, "updated_at", Status.REQUIRES_ACTION.value)
        return _due(earliest, threeds.CHALLENGE_TTL, up_to)

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        ran = 0
        while (page := await self._three_ds.expire_challenges(_PAGE, test_clock_id=clock.id, up_to=up_to)) > 0:
            ran += page
        return ran


class RefundSettlementOnClock:
    def __init__(self, uow: UnitOfWorkFactory, settlement: RefundSettlement) -> None:
        self._uow = uow
        self._settlement = settlement

    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        async with self._uow() as uow:
            earliest = await uow.payments.earliest_on_clock(clock.id, "refund_settles_at")
        return earliest if earliest is not None and earliest <= up_to else None

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        ran = 0
        while (page := await self._settlement.settle_due(_PAGE, test_clock_id=clock.id, up_to=up_to)) > 0:
            ran += page
        return ran


class WebhookAttemptsOnClock:
    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self._dispatcher = dispatcher

    async def next_due(self, clock: TestClock, up_to: datetime) -> datetime | None:
        earliest = await self._dispatcher.next_due_on_clock(clock.id)
        return earliest if earliest is not None and earliest <= up_to else None

    async def run_due(self, clock: TestClock, up_to: datetime) -> int:
        ran = 0
        while (page := await self._dispatcher.send_due_on_clock(clock.id, up_to, _PAGE)) > 0:
            ran += page
        if ran == 0 and await self.next_due(clock, up_to) is None:
            # A dispatcher took what was due a moment ago (it is leased to it): nothing is left
            # behind, so this source stays in the advance for what falls due later.
            return 1
        return ran
