"""The pure rules of a payment's dispute: what opens one, what a merchant's answer or the passing of
time makes of it (the events to append), or the domain error that refuses a request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from paysim.domain import payment
from paysim.domain import payment_events as events
from paysim.domain.disputes import (
    EVIDENCE_WINDOW,
    LOSING_EVIDENCE,
    REVIEW_PERIOD,
    WINNING_EVIDENCE,
    CloseReason,
    DisputeKind,
    DisputeReason,
    DisputeState,
    DisputeStatus,
    Opening,
    fee_for,
    outcome_of,
)
from paysim.domain.errors import FailedPrecondition, NotFound
from paysim.domain.payment import PaymentState
from paysim.domain.scenarios import ScenarioKind

DISPUTE_CLOSED = "DISPUTE_CLOSED"
DISPUTE_UNDER_REVIEW = "DISPUTE_UNDER_REVIEW"
PAYMENT_DISPUTED = "PAYMENT_DISPUTED"

OPENINGS: Mapping[ScenarioKind, Opening] = {
    ScenarioKind.DISPUTE_FRAUDULENT: Opening(DisputeKind.CHARGEBACK, DisputeReason.FRAUDULENT),
    ScenarioKind.DISPUTE_NOT_RECEIVED: Opening(DisputeKind.CHARGEBACK, DisputeReason.PRODUCT_NOT_RECEIVED),
    ScenarioKind.DISPUTE_INQUIRY: Opening(DisputeKind.INQUIRY, DisputeReason.GENERAL),
    ScenarioKind.DISPUTE_EARLY_FRAUD_WARNING: Opening(DisputeKind.EARLY_FRAUD_WARNING, DisputeReason.FRAUDULENT),
}
"""What each dispute test card opens once its payment is captured."""


def _withdrawal(state: PaymentState, dispute_id: str, amount: int, at: datetime) -> events.DisputeFundsWithdrawn:
    # What was refunded already is not the merchant's to lose again.
    taken = max(0, min(amount, state.captured_amount - state.refunded_amount))
    return events.DisputeFundsWithdrawn(at=at, dispute_id=dispute_id, amount=taken, fee=fee_for(state.currency))


def open_events(
    state: PaymentState, opening: Opening, dispute_id: str, at: datetime, test_clock_id: str | None
) -> list[events.PaymentEvent]:
    """A dispute of the whole captured amount; a chargeback withdraws it and the fee at once."""
    chargeback = opening.kind is DisputeKind.CHARGEBACK
    created = events.DisputeCreated(
        at=at,
        dispute_id=dispute_id,
        kind=opening.kind,
        reason=opening.reason,
        status=DisputeStatus.NEEDS_RESPONSE if chargeback else DisputeStatus.WARNING_NEEDS_RESPONSE,
        amount=state.captured_amount,
        evidence_due_by=at + EVIDENCE_WINDOW,
        test_clock_id=test_clock_id,
    )
    if not chargeback:
        return [created]
    return [created, _withdrawal(state, dispute_id, state.captured_amount, at)]


def opened_by_capture(
    before: PaymentState,
    appended: Sequence[events.PaymentEvent],
    opening: Opening | None,
    dispute_id: str,
    test_clock_id: str | None,
) -> list[events.PaymentEvent]:
    """The dispute a capture among ``appended`` opens for a dispute test card (none otherwise),
    stamped with the capture's time so it follows it in the payment's history."""
    captured = next((e for e in appended if isinstance(e, events.PaymentCaptured)), None)
    if opening is None or captured is None or before.dispute is not None:
        return []
    after = payment.replay(before.id, appended, start=before)
    if after.captured_amount <= 0:
        return []
    return open_events(after, opening, dispute_id, captured.at, test_clock_id)


def dispute_of(state: PaymentState, dispute_id: str) -> DisputeState:
    if state.dispute is None or state.dispute.id != dispute_id:
        raise NotFound("dispute", dispute_id)
    return state.dispute


def _refuse_unless_awaiting(d: DisputeState, payment_id: str, doing: str) -> None:
    if d.awaiting_evidence:
        return
    metadata = {"dispute_id": d.id, "payment_id": payment_id, "status": d.status.value}
    if d.under_review:
        raise FailedPrecondition(
            f"the dispute is under review since its evidence was submitted; it cannot be {doing}",
            reason=DISPUTE_UNDER_REVIEW,
            metadata=metadata,
        )
    raise FailedPrecondition(
        f"the dispute is closed ({d.status.value}); it cannot be {doing}", reason=DISPUTE_CLOSED, metadata=metadata
    )


def submit_evidence(
    state: PaymentState, dispute_id: str, evidence: Mapping[str, str], at: datetime
) -> list[events.PaymentEvent]:
    """Evidence moves the dispute under review. The same evidence again changes nothing, also once
    the review decided: a client's retry of a call that was carried out must not fail."""
    d = dispute_of(state, dispute_id)
    if d.evidence_submitted_at is not None and dict(d.evidence) == dict(evidence):
        return []
    _refuse_unless_awaiting(d, state.id, "answered")
    status = DisputeStatus.WARNING_UNDER_REVIEW if d.is_warning else DisputeStatus.UNDER_REVIEW
    return [
        events.DisputeUpdated(
            at=at,
            dispute_id=d.id,
            status=status,
            evidence=dict(evidence),
            evidence_due_by=d.evidence_due_by,
            review_due_at=at + REVIEW_PERIOD,
        )
    ]


def accept(state: PaymentState, dispute_id: str, at: datetime) -> list[events.PaymentEvent]:
    """The merchant gives up: a chargeback is lost, a warning closes. Accepting again changes nothing."""
    d = dispute_of(state, dispute_id)
    if d.close_reason == CloseReason.ACCEPTED:
        return []
    _refuse_unless_awaiting(d, state.id, "accepted")
    status = DisputeStatus.WARNING_CLOSED if d.is_warning else DisputeStatus.LOST
    return [events.DisputeClosed(at=at, dispute_id=d.id, status=status, reason=CloseReason.ACCEPTED)]


def _reviewed(state: PaymentState, d: DisputeState, at: datetime) -> list[events.PaymentEvent]:
    outcome = outcome_of(d.evidence)
    if d.is_warning:
        if outcome == LOSING_EVIDENCE:  # the issuer escalates the inquiry to a chargeback
            escalated = events.DisputeUpdated(
                at=at, dispute_id=d.id, status=DisputeStatus.NEEDS_RESPONSE, evidence_due_by=at + EVIDENCE_WINDOW
            )
            return [escalated, _withdrawal(state, d.id, d.amount, at)]
        reason = CloseReason.EVIDENCE_WON if outcome == WINNING_EVIDENCE else CloseReason.REVIEWED
        return [events.DisputeClosed(at=at, dispute_id=d.id, status=DisputeStatus.WARNING_CLOSED, reason=reason)]
    if outcome == WINNING_EVIDENCE:
        won: list[events.PaymentEvent] = [
            events.DisputeClosed(at=at, dispute_id=d.id, status=DisputeStatus.WON, reason=CloseReason.EVIDENCE_WON)
        ]
        if d.withdrawn > 0:  # the disputed amount comes back; the fee does not
            won.append(events.DisputeFundsReinstated(at=at, dispute_id=d.id, amount=d.withdrawn))
        return won
    return [events.DisputeClosed(at=at, dispute_id=d.id, status=DisputeStatus.LOST, reason=CloseReason.EVIDENCE_LOST)]


def due_events(state: PaymentState, now: datetime, *, at: datetime | None = None) -> list[events.PaymentEvent]:
    """What falls due on the payment's dispute by ``now``: the evidence deadline or the review's end.
    Stamped ``at`` (default: the moment it fell due, which is what a test clock shows)."""
    d = state.dispute
    due = None if d is None else d.due_at
    if d is None or due is None or due > now:
        return []
    stamp = due if at is None else at
    if d.awaiting_evidence:
        status = DisputeStatus.WARNING_CLOSED if d.is_warning else DisputeStatus.LOST
        return [
            events.DisputeClosed(at=stamp, dispute_id=d.id, status=status, reason=CloseReason.EVIDENCE_DEADLINE_PASSED)
        ]
    return _reviewed(state, d, stamp)


def check_refundable(state: PaymentState) -> None:
    """Refused while a chargeback holds the money, or once it was lost (Stripe's
    ``is_charge_refundable``); a warning, or a dispute won, leaves the payment refundable."""
    d = state.dispute
    if d is None or d.charge_refundable:
        return
    raise FailedPrecondition(
        f"the payment is disputed ({d.status.value}): a disputed payment cannot be refunded",
        reason=PAYMENT_DISPUTED,
        metadata={"payment_id": state.id, "dispute_id": d.id, "dispute_status": d.status.value},
    )
