"""How a dispute event changes the payment's dispute: the fold the payment aggregate delegates to."""

from __future__ import annotations

from paysim.domain import payment_events as events
from paysim.domain.disputes import DisputeState, touched


def apply(dispute: DisputeState | None, e: events.DisputeEvent) -> DisputeState:
    """The dispute after ``e``; pure. Only dispute.created may find no dispute."""
    if isinstance(e, events.DisputeCreated):
        if dispute is not None:
            raise ValueError("a payment has at most one dispute")
        return DisputeState(
            id=e.dispute_id,
            kind=e.kind,
            reason=e.reason,
            status=e.status,
            amount=e.amount,
            evidence_due_by=e.evidence_due_by,
            created_at=e.at,
            updated_at=e.at,
            test_clock_id=e.test_clock_id,
        )
    if dispute is None or dispute.id != e.dispute_id:
        raise ValueError(f"{e.type} names a dispute the payment does not have")
    match e:
        case events.DisputeUpdated():
            submitted = e.at if e.review_due_at is not None else None
            return touched(
                dispute,
                e.at,
                status=e.status,
                evidence=dict(e.evidence),
                evidence_due_by=e.evidence_due_by,
                review_due_at=e.review_due_at,
                evidence_submitted_at=submitted,
            )
        case events.DisputeClosed():
            return touched(dispute, e.at, status=e.status, close_reason=e.reason, review_due_at=None)
        case events.DisputeFundsWithdrawn():
            return touched(dispute, e.at, withdrawn=dispute.withdrawn + e.amount, fee=dispute.fee + e.fee)
        case events.DisputeFundsReinstated():
            return touched(dispute, e.at, reinstated=dispute.reinstated + e.amount)
    raise ValueError(f"{e.type} is not a dispute event")
