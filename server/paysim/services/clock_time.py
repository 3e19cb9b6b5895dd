"""The time a payment's events happen at: its test clock's, when it lives on one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from paysim.domain.payment import PaymentState
from paysim.domain.payment_events import PaymentEvent, at_time
from paysim.domain.test_clocks import time_for_new_work
from paysim.store.ports import PaymentStore


async def on_its_clock(uow: PaymentStore, state: PaymentState, events: Sequence[PaymentEvent]) -> list[PaymentEvent]:
    """``events`` as they happen to ``state``: at its test clock's frozen time (at its last change
    if the clock is gone), or unchanged on real time."""
    if not state.test_clock_id:
        return list(events)
    clock = await uow.test_clocks.get(state.test_clock_id)
    at = state.updated_at if clock is None else clock.frozen_time
    return [at_time(e, at) for e in events]


async def time_for_new_work_on(uow: PaymentStore, test_clock_id: str, merchant_id: str) -> datetime:
    """The time of a change to an object on a test clock: the clock's (read under a share lock,
    so it cannot start advancing meanwhile), or the refusal ``time_for_new_work`` makes."""
    clock = await uow.test_clocks.get(test_clock_id, for_share=True)
    return time_for_new_work(clock, test_clock_id, merchant_id)
