"""The time a payment's events happen at: its test clock's, when it lives on one."""

from __future__ import annotations

from collections.abc import Sequence

from paysim.domain.payment import PaymentState
from paysim.domain.payment_events import PaymentEvent, at_time
from paysim.store.ports import PaymentStore


async def on_its_clock(uow: PaymentStore, state: PaymentState, events: Sequence[PaymentEvent]) -> list[PaymentEvent]:
    """``events`` as they happen to ``state``: at its test clock's frozen time (at its last change
    if the clock is gone), or unchanged on real time."""
    if not state.test_clock_id:
        return list(events)
    clock = await uow.test_clocks.get(state.test_clock_id)
    at = state.updated_at if clock is None else clock.frozen_time
    return [at_time(e, at) for e in events]
