"""Asynchronous refunds, as Stripe's refund test cards make them: the gateway accepts the refund,
and what becomes of it is known only later.

- ``4000000000007726`` (``REFUND_ASYNC``): the refund stays ``pending`` (``refund.pending``) and
  settles :data:`SETTLEMENT_DELAY` later (``refund.succeeded``).
- ``4000000000005126`` (``REFUND_FAILS``): the refund reads ``succeeded`` at once and is reversed
  :data:`SETTLEMENT_DELAY` later (``refund.failed``, :data:`FAILURE_REASON`); its amount is
  refundable again.

While it waits, the refund's amount counts as refunded: it cannot be refunded twice. The delay runs
on the payment's test clock when it has one, else on real time (the housekeeping round).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from paysim.domain.payment import PaymentState
from paysim.domain.payment_events import PaymentEvent, RefundFailed, RefundPending, RefundSucceeded
from paysim.domain.payment_values import Attempt
from paysim.domain.scenarios import ScenarioKind

SETTLEMENT_DELAY = timedelta(hours=1)
FAILURE_REASON = "expired_or_canceled_card"


def accepted(
    kind: ScenarioKind | None, refund_id: str, requested_at: datetime, at: datetime, attempt: Attempt
) -> PaymentEvent:
    """The event of a refund the gateway accepted: pending, succeeded-then-reversed, or succeeded.
    The settlement time counts from the refund's request (``requested_at``, the object's time)."""
    settles_at = requested_at + SETTLEMENT_DELAY
    if kind is ScenarioKind.REFUND_ASYNC:
        return RefundPending(at=at, refund_id=refund_id, settles_at=settles_at, attempt=attempt)
    if kind is ScenarioKind.REFUND_FAILS:
        return RefundSucceeded(at=at, refund_id=refund_id, attempt=attempt, fails_at=settles_at)
    return RefundSucceeded(at=at, refund_id=refund_id, attempt=attempt)


def due(state: PaymentState, up_to: datetime) -> list[PaymentEvent]:
    """The settlements of ``state``'s refunds due at or before ``up_to``, in time order, each at the
    time it fell due. Empty when none is due: settling is idempotent."""
    waiting = sorted(
        (r for r in state.refunds if r.settles_at is not None and r.settles_at <= up_to),
        key=lambda r: (r.settles_at, r.id),
    )
    events: list[PaymentEvent] = []
    for refund in waiting:
        assert refund.settles_at is not None
        if refund.settlement == "fail":
            events.append(RefundFailed(at=refund.settles_at, refund_id=refund.id, reason=FAILURE_REASON))
        else:
            events.append(RefundSucceeded(at=refund.settles_at, refund_id=refund.id))
    return events
