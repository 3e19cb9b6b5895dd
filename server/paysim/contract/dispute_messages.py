"""A payment's dispute ⇄ ``paysim.v1.Dispute``, and the wire data of the ``dispute.*`` events."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.message import Message
from paysim_proto.v1 import dispute_pb2

from paysim.contract.timestamps import timestamp
from paysim.domain import payment_events as events
from paysim.domain.disputes import EVIDENCE_FIELDS, DisputeKind, DisputeReason, DisputeState, DisputeStatus
from paysim.domain.payment import PaymentState

D = dispute_pb2

STATUS_TO_PROTO = {
    DisputeStatus.WARNING_NEEDS_RESPONSE: D.DISPUTE_STATUS_WARNING_NEEDS_RESPONSE,
    DisputeStatus.WARNING_UNDER_REVIEW: D.DISPUTE_STATUS_WARNING_UNDER_REVIEW,
    DisputeStatus.WARNING_CLOSED: D.DISPUTE_STATUS_WARNING_CLOSED,
    DisputeStatus.NEEDS_RESPONSE: D.DISPUTE_STATUS_NEEDS_RESPONSE,
    DisputeStatus.UNDER_REVIEW: D.DISPUTE_STATUS_UNDER_REVIEW,
    DisputeStatus.WON: D.DISPUTE_STATUS_WON,
    DisputeStatus.LOST: D.DISPUTE_STATUS_LOST,
}
STATUS_FROM_PROTO = {v: k for k, v in STATUS_TO_PROTO.items()}
KIND_TO_PROTO = {
    DisputeKind.CHARGEBACK: D.DISPUTE_KIND_CHARGEBACK,
    DisputeKind.INQUIRY: D.DISPUTE_KIND_INQUIRY,
    DisputeKind.EARLY_FRAUD_WARNING: D.DISPUTE_KIND_EARLY_FRAUD_WARNING,
}
REASON_TO_PROTO = {
    DisputeReason.FRAUDULENT: D.DISPUTE_REASON_FRAUDULENT,
    DisputeReason.PRODUCT_NOT_RECEIVED: D.DISPUTE_REASON_PRODUCT_NOT_RECEIVED,
    DisputeReason.GENERAL: D.DISPUTE_REASON_GENERAL,
}


def evidence(fields: Mapping[str, str]) -> dispute_pb2.DisputeEvidence:
    return D.DisputeEvidence(**{name: fields[name] for name in EVIDENCE_FIELDS if name in fields})


def evidence_from(message: dispute_pb2.DisputeEvidence) -> dict[str, str]:
    return {name: getattr(message, name) for name in EVIDENCE_FIELDS}


def dispute(state: PaymentState, d: DisputeState) -> dispute_pb2.Dispute:
    return D.Dispute(
        id=d.id,
        payment_id=state.id,
        merchant_id=state.merchant_id,
        kind=KIND_TO_PROTO[d.kind],
        reason=REASON_TO_PROTO[d.reason],
        status=STATUS_TO_PROTO[d.status],
        amount_minor=d.amount,
        currency_code=state.currency,
        withdrawn_amount_minor=d.withdrawn,
        fee_amount_minor=d.fee,
        reinstated_amount_minor=d.reinstated,
        evidence_due_by=timestamp(d.evidence_due_by),
        evidence=evidence(d.evidence) if d.evidence else None,
        evidence_submit_time=timestamp(d.evidence_submitted_at),
        review_due_by=timestamp(d.review_due_at),
        close_reason=d.close_reason,
        payment_refundable=d.charge_refundable,
        test_clock_id=d.test_clock_id or "",
        create_time=timestamp(d.created_at),
        update_time=timestamp(d.updated_at),
    )


def of_payment(state: PaymentState) -> dispute_pb2.Dispute:
    """The dispute of a disputed payment."""
    assert state.dispute is not None
    return dispute(state, state.dispute)


def event_data(e: events.DisputeEvent) -> Message:
    """A ``dispute.*`` event's data on the wire."""
    match e:
        case events.DisputeCreated():
            return D.DisputeCreated(
                dispute_id=e.dispute_id,
                kind=KIND_TO_PROTO[e.kind],
                reason=REASON_TO_PROTO[e.reason],
                status=STATUS_TO_PROTO[e.status],
                amount_minor=e.amount,
                evidence_due_by=timestamp(e.evidence_due_by),
                test_clock_id=e.test_clock_id or "",
            )
        case events.DisputeUpdated():
            return D.DisputeUpdated(
                dispute_id=e.dispute_id,
                status=STATUS_TO_PROTO[e.status],
                evidence=evidence(e.evidence),
                evidence_due_by=timestamp(e.evidence_due_by),
                review_due_by=timestamp(e.review_due_at),
            )
        case events.DisputeClosed():
            return D.DisputeClosed(dispute_id=e.dispute_id, status=STATUS_TO_PROTO[e.status], reason=e.reason)
        case events.DisputeFundsWithdrawn():
            return D.DisputeFundsWithdrawn(dispute_id=e.dispute_id, amount_minor=e.amount, fee_amount_minor=e.fee)
        case events.DisputeFundsReinstated():
            return D.DisputeFundsReinstated(dispute_id=e.dispute_id, amount_minor=e.amount)
