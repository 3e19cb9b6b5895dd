"""Settling asynchronous refunds (domain/refund_settlement.py) when their time comes: a pending one
succeeds (``refund.succeeded``), a reversed one fails (``refund.failed``, its amount refundable
again); a webhook for it follows from the same commit. On a test clock each event carries the
clock's time at which it fell due; on real time, the time the housekeeping round settled it.

The housekeeping round settles those on real time; a test clock's advance those on the clock.
"""

from __future__ import annotations

from datetime import datetime

from paysim.domain import payment, refund_settlement
from paysim.domain.errors import Aborted
from paysim.domain.payment_events import at_time
from paysim.services.clock import Clock
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

_ATTEMPTS = 5


class RefundSettlement:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def settle_due(self, limit: int = 100, *, test_clock_id: str = "", up_to: datetime | None = None) -> int:
        """Settle the refunds due by now on real time, or (with ``test_clock_id``) those of a test
        clock due by ``up_to``; returns how many settled."""
        now = self._clock() if up_to is None else up_to
        async with self._uow() as uow:
            due = await uow.payments.refunds_settling(now, limit, test_clock_id)
        settled = 0
        for payment_id in due:
            settled += await self.settle(payment_id, now)
        return settled

    async def settle(self, payment_id: str, up_to: datetime) -> int:
        """Settle one payment's refunds due by ``up_to``; how many. Idempotent: a settled refund
        waits no more, so a repeat finds nothing to do."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self._uow() as uow:
                    state = await uow.payments.get(payment_id, for_update=True)
                    events = [] if state is None else refund_settlement.due(state, up_to)
                    if state is None or not events:
                        return 0
                    if not state.test_clock_id:  # on real time the round records when it ran, as every sweep
                        events = [at_time(e, up_to) for e in events]
                    await uow.payments.save(state, payment.replay(payment_id, events, start=state), events)
                    await uow.commit()
                return len(events)
            except Aborted as conflict:
                if conflict.reason not in (CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT) or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")
