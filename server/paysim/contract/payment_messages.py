"""A payment ⇄ ``paysim.v1.Payment`` and the messages it is made of."""

from __future__ import annotations

from typing import Any

from paysim_proto.v1 import payment_pb2

from paysim.contract import dispute_messages
from paysim.contract.timestamps import timestamp
from paysim.domain import threeds
from paysim.domain.payment import PaymentState
from paysim.domain.payment_methods import MethodType
from paysim.domain.payment_values import Attempt, CaptureMethod, Card, DeclineInfo, RefundState, Status

STATUS_TO_PROTO = {
    Status.PROCESSING: payment_pb2.PAYMENT_STATUS_PROCESSING,
    Status.REQUIRES_ACTION: payment_pb2.PAYMENT_STATUS_REQUIRES_ACTION,
    Status.AUTHORIZED: payment_pb2.PAYMENT_STATUS_AUTHORIZED,
    Status.CAPTURED: payment_pb2.PAYMENT_STATUS_CAPTURED,
    Status.PARTIALLY_REFUNDED: payment_pb2.PAYMENT_STATUS_PARTIALLY_REFUNDED,
    Status.REFUNDED: payment_pb2.PAYMENT_STATUS_REFUNDED,
    Status.VOIDED: payment_pb2.PAYMENT_STATUS_VOIDED,
    Status.DECLINED: payment_pb2.PAYMENT_STATUS_DECLINED,
    Status.FAILED: payment_pb2.PAYMENT_STATUS_FAILED,
}
STATUS_FROM_PROTO = {v: k for k, v in STATUS_TO_PROTO.items()}
CHALLENGE_STATUS_TO_PROTO = {
    threeds.ChallengeStatus.PENDING: payment_pb2.THREE_DS_CHALLENGE_STATUS_PENDING,
    threeds.ChallengeStatus.COMPLETED: payment_pb2.THREE_DS_CHALLENGE_STATUS_COMPLETED,
    threeds.ChallengeStatus.EXPIRED: payment_pb2.THREE_DS_CHALLENGE_STATUS_EXPIRED,
}
CAPTURE_TO_PROTO = {
    CaptureMethod.AUTOMATIC: payment_pb2.CAPTURE_METHOD_AUTOMATIC,
    CaptureMethod.MANUAL: payment_pb2.CAPTURE_METHOD_MANUAL,
}

# The domain keeps these closed sets as words (payment.py's RefundState and Attempt).
REFUND_STATUS_TO_PROTO = {
    "pending": payment_pb2.REFUND_STATUS_PENDING,
    "succeeded": payment_pb2.REFUND_STATUS_SUCCEEDED,
    "failed": payment_pb2.REFUND_STATUS_FAILED,
}
OPERATION_TO_PROTO = {
    "authorize": payment_pb2.GATEWAY_OPERATION_AUTHORIZE,
    "capture": payment_pb2.GATEWAY_OPERATION_CAPTURE,
    "void": payment_pb2.GATEWAY_OPERATION_VOID,
    "refund": payment_pb2.GATEWAY_OPERATION_REFUND,
}
OUTCOME_TO_PROTO = {
    "approved": payment_pb2.GATEWAY_OUTCOME_APPROVED,
    "declined": payment_pb2.GATEWAY_OUTCOME_DECLINED,
    "error": payment_pb2.GATEWAY_OUTCOME_ERROR,
    "skipped": payment_pb2.GATEWAY_OUTCOME_SKIPPED,
}

METHOD_TYPE_TO_PROTO = {
    MethodType.CARD: payment_pb2.PAYMENT_METHOD_TYPE_CARD,
    MethodType.UPI: payment_pb2.PAYMENT_METHOD_TYPE_UPI,
    MethodType.PAYPAL_WALLET: payment_pb2.PAYMENT_METHOD_TYPE_PAYPAL_WALLET,
}


def capture_method_from_proto(value: int) -> CaptureMethod:
    return CaptureMethod.MANUAL if value == payment_pb2.CAPTURE_METHOD_MANUAL else CaptureMethod.AUTOMATIC


def refund(state: PaymentState, r: RefundState) -> payment_pb2.Refund:
    return payment_pb2.Refund(
        id=r.id,
        payment_id=state.id,
        amount_minor=r.amount,
        currency_code=state.currency,
        status=REFUND_STATUS_TO_PROTO[r.status],
        reason=r.reason,
        create_time=timestamp(r.created_at),
        failure_reason=r.failure_reason,
        # Shown while it is pending only: when a succeeded refund will be reversed is the test card's secret.
        settle_time=timestamp(r.settles_at) if r.settles_at is not None and r.status == "pending" else None,
    )


def challenge(c: threeds.Challenge) -> payment_pb2.ThreeDSChallenge:
    return payment_pb2.ThreeDSChallenge(
        id=c.id,
        acs_url=c.acs_url,
        challenge_request=c.request,
        create_time=timestamp(c.created_at),
        expire_time=timestamp(c.expires_at),
        status=CHALLENGE_STATUS_TO_PROTO[c.status],
    )


def authentication(a: threeds.Authentication | None) -> payment_pb2.ThreeDSAuthentication | None:
    if a is None:
        return None
    return payment_pb2.ThreeDSAuthentication(
        version=a.version,
        trans_status=a.trans_status.value,
        trans_status_reason=a.reason,
        eci=a.eci,
        cavv=a.cavv,
        ds_transaction_id=a.ds_transaction_id,
        challenged=a.challenged,
    )


def next_action(s: PaymentState) -> payment_pb2.NextAction | None:
    if s.status is not Status.REQUIRES_ACTION or s.challenge is None:
        return None
    return payment_pb2.NextAction(
        type=payment_pb2.NEXT_ACTION_TYPE_THREE_DS_CHALLENGE, three_ds_challenge=challenge(s.challenge)
    )


def card(c: Card) -> payment_pb2.CardDetails:
    return payment_pb2.CardDetails(
        brand=c.brand,
        bin=c.bin,
        last4=c.last4,
        exp_month=c.exp_month,
        exp_year=c.exp_year,
        fingerprint=c.fingerprint,
        holder_name=c.holder_name,
        country=c.country,
        funding=c.funding,
        checks=_checks(c),
    )


def _checks(c: Card) -> payment_pb2.CardChecks | None:
    """The issuer's checks; unset for a payment from before paysim reported them."""
    if not c.cvc_check:
        return None
    return payment_pb2.CardChecks(
        cvc_check=c.cvc_check,
        address_line1_check=c.address_line1_check,
        address_postal_code_check=c.address_postal_code_check,
    )


def risk_level(s: PaymentState) -> str:
    """The payment's risk level: ``not_assessed`` without a card or from before paysim assessed it."""
    return (s.card.risk_level if s.method_type == MethodType.CARD else "") or "not_assessed"


def decline(d: DeclineInfo) -> payment_pb2.Decline:
    return payment_pb2.Decline(
        code=d.code, error_code=d.error_code, message=d.message, retryable=d.retryable, blocked_by=d.blocked_by
    )


def attempt(a: Attempt) -> payment_pb2.GatewayAttempt:
    return payment_pb2.GatewayAttempt(
        gateway=a.gateway,
        operation=OPERATION_TO_PROTO[a.operation],
        outcome=OUTCOME_TO_PROTO[a.outcome],
        reference=a.reference,
        latency_ms=a.latency_ms,
        time=timestamp(a.at),
        detail=a.detail,
        chaos=a.chaos,
        simulated_by=a.simulated_by,
    )


def payment(s: PaymentState) -> payment_pb2.Payment:
    return payment_pb2.Payment(
        id=s.id,
        merchant_id=s.merchant_id,
        customer_id=s.customer_id,
        amount_minor=s.amount,
        currency_code=s.currency,
        status=STATUS_TO_PROTO[s.status],
        capture_method=CAPTURE_TO_PROTO[s.capture_method],
        card=None if s.method_type != MethodType.CARD else card(s.card),
        authorized_amount_minor=s.authorized_amount,
        captured_amount_minor=s.captured_amount,
        refunded_amount_minor=s.refunded_amount,
        fee_amount_minor=s.fee_amount,
        net_amount_minor=s.net_amount,
        decline=None if s.decline is None else decline(s.decline),
        failure_reason=s.failure_reason,
        description=s.description,
        metadata=dict(s.metadata),
        attempts=[attempt(a) for a in s.attempts],
        refunds=[refund(s, r) for r in s.refunds],
        version=s.version,
        create_time=timestamp(s.created_at),
        update_time=timestamp(s.updated_at),
        gateway=s.gateway,
        three_ds=authentication(s.authentication),
        next_action=next_action(s),
        method_type=METHOD_TYPE_TO_PROTO[MethodType(s.method_type)],
        method_account=s.method_account,
        **_disputed(s),
        test_clock_id=s.test_clock_id,
        risk_level=risk_level(s),
    )


def _disputed(s: PaymentState) -> dict[str, Any]:
    """The Payment fields of its dispute; none for a payment never disputed."""
    d = s.dispute
    if d is None:
        return {}
    return {
        "dispute": dispute_messages.dispute(s, d),
        "disputed_amount_minor": d.withdrawn - d.reinstated,
        "dispute_fee_minor": d.fee,
    }
