"""Expiring authorizations nobody captured within their validity (payment_rules.AUTHORIZATION_VALIDITY):
each becomes VOIDED with a ``payment.authorization_expired`` event (and so a webhook).

The housekeeping round sweeps the due ones; a capture that finds its authorization past its time
expires it on the spot, so the payment never reads AUTHORIZED after a capture was refused for it.
"""

from __future__ import annotations

from datetime import datetime

from paysim.domain import payment, payment_rules
from paysim.domain.errors import Aborted
from paysim.services.clock import Clock
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

_ATTEMPTS = 5


class AuthorizationExpiry:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def expire_due(self, limit: int = 100, *, test_clock_id: str = "", up_to: datetime | None = None) -> int:
        """Expire the authorizations past their validity, on real time or (with ``test_clock_id``)
        those of a test clock whose time is ``up_to``; returns how many."""
        now = self._clock() if up_to is None else up_to
        async with self._uow() as uow:
            due = await uow.payments.authorized_since(now - payment_rules.AUTHORIZATION_VALIDITY, limit, test_clock_id)
        expired = 0
        for payment_id in due:
            if await self.expire(payment_id):
                expired += 1
        return expired

    async def expire(self, payment_id: str) -> bool:
        """Expire one authorization if it is due. False if there was nothing to do (not
        authorized, not yet due, or a capture or void of it in flight). On a test clock it expires
        at the time it fell due: what calls this for it (the clock's advance, or a capture its
        clock's time refused as late) knows that time has come."""
        for attempt in range(_ATTEMPTS):
            try:
                async with self._uow() as uow:
                    state = await uow.payments.get(payment_id, for_update=True)
                    now = self._clock()
                    if state is not None and state.test_clock_id:
                        now = payment_rules.authorization_expires_at(state)
                    event = None if state is None else payment_rules.expire_authorization(state, now)
                    if state is None or event is None:
                        return False
                    await uow.payments.save(state, payment.apply(state, event), [event])
                    await uow.commit()
                return True
            except Aborted as conflict:
                if conflict.reason not in (CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT) or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")
