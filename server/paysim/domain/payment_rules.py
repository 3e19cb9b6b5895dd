"""The pure rules of a payment: what a command makes of its current state (the events to append)
or the domain error that refuses it. The aggregate (domain/payment.py) applies what they decide."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from paysim.domain import dispute_rules, payment_events
from paysim.domain.errors import Aborted, FailedPrecondition, PreconditionViolation
from paysim.domain.payment import PaymentState
from paysim.domain.payment_values import Attempt, CaptureMethod, Card, Status

# How long an uncaptured authorization holds the funds, counted from the payment's creation
# (Stripe: 7 days for most cards). After it the authorization expires and capture is refused.
AUTHORIZATION_VALIDITY = timedelta(days=7)
AUTHORIZATION_EXPIRED_REASON = "authorization_expired"  # the payment's failure_reason
AUTHORIZATION_EXPIRED = "AUTHORIZATION_EXPIRED"  # the error reason of a capture it refuses


def authorization_expires_at(state: PaymentState) -> datetime:
    return state.created_at + AUTHORIZATION_VALIDITY


def _authorization_expired(state: PaymentState) -> FailedPrecondition:
    expires_at = authorization_expires_at(state)
    return FailedPrecondition(
        f"the authorization expired at {expires_at:%Y-%m-%dT%H:%M:%SZ} uncaptured; create a new payment",
        reason=AUTHORIZATION_EXPIRED,
        metadata={"payment_id": state.id, "expire_time": expires_at.isoformat()},
        violations=[PreconditionViolation("AUTHORIZATION_EXPIRY", state.id, "the authorization has expired")],
    )


def expire_authorization(state: PaymentState, now: datetime) -> payment_events.PaymentAuthorizationExpired | None:
    """The expiry of an authorization past its validity; None when it is not due (or not one).
    An authorization with a capture or void in flight waits for that call's outcome."""
    if state.status is not Status.AUTHORIZED or state.pending_operation or now < authorization_expires_at(state):
        return None
    return payment_events.PaymentAuthorizationExpired(at=now, reason=AUTHORIZATION_EXPIRED_REASON)


def fee_for(captured: int, percent_bps: int, fixed: int) -> int:
    """Percentage rounded half up to the minor unit, plus the fixed part; never above the capture."""
    if captured <= 0:
        return 0
    return min(captured, (captured * percent_bps + 5_000) // 10_000 + fixed)


def _wrong_state(state: PaymentState, action: str, reason: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"a payment that is {state.status.value} cannot be {action}",
        reason=reason,
        metadata={"payment_id": state.id, "status": state.status.value},
        violations=[PreconditionViolation("PAYMENT_STATUS", state.id, f"status is {state.status.value}")],
    )


def _busy(state: PaymentState) -> Aborted:
    return Aborted(
        f"a {state.pending_operation} of this payment is in progress; retry shortly",
        reason="PAYMENT_BUSY",
        retry_after_seconds=0.05,
        metadata={"payment_id": state.id, "operation": state.pending_operation},
    )


def request_capture(state: PaymentState, amount: int, at: datetime) -> payment_events.PaymentCaptureRequested:
    """``amount`` 0 means the whole authorized amount."""
    if state.pending_operation:
        raise _busy(state)
    expired = state.status is Status.VOIDED and state.failure_reason == AUTHORIZATION_EXPIRED_REASON
    if expired or (state.status is Status.AUTHORIZED and at >= authorization_expires_at(state)):
        raise _authorization_expired(state)
    if state.status is not Status.AUTHORIZED:
        raise _wrong_state(state, "captured", "PAYMENT_NOT_CAPTURABLE")
    amount = amount or state.authorized_amount
    if amount > state.authorized_amount:
        raise FailedPrecondition(
            f"cannot capture {amount}: only {state.authorized_amount} is authorized",
            reason="AMOUNT_EXCEEDS_AUTHORIZED",
            metadata={"payment_id": state.id, "authorized_amount_minor": str(state.authorized_amount)},
        )
    return payment_events.PaymentCaptureRequested(at=at, amount=amount)


def request_void(state: PaymentState, at: datetime) -> payment_events.PaymentVoidRequested:
    if state.pending_operation:
        raise _busy(state)
    if state.status is not Status.AUTHORIZED:
        raise _wrong_state(state, "voided", "PAYMENT_NOT_VOIDABLE")
    return payment_events.PaymentVoidRequested(at=at)


def request_refund(
    state: PaymentState, refund_id: str, amount: int, reason: str, at: datetime
) -> payment_events.RefundRequested:
    """``amount`` 0 means everything still refundable."""
    if state.status not in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
        raise _wrong_state(state, "refunded", "PAYMENT_NOT_REFUNDABLE")
    dispute_rules.check_refundable(state)
    refundable = state.refundable_amount
    amount = amount or refundable
    if refundable <= 0 or amount > refundable:
        raise FailedPrecondition(
            f"cannot refund {amount}: {refundable} is refundable",
            reason="AMOUNT_EXCEEDS_REFUNDABLE",
            metadata={"payment_id": state.id, "refundable_amount_minor": str(refundable)},
        )
    return payment_events.RefundRequested(at=at, refund_id=refund_id, amount=amount, reason=reason)


def captured_event(
    state: PaymentState, amount: int, attempt: Attempt | None, at: datetime
) -> payment_events.PaymentCaptured:
    """The capture of ``amount``, with the merchant's fee on it."""
    fee = fee_for(amount, state.fee_percent_bps, state.fee_fixed)
    return payment_events.PaymentCaptured(at=at, amount=amount, fee=fee, attempt=attempt)


@dataclass(frozen=True, slots=True)
class NewPayment:
    """A validated CreatePayment command (the card number lives only in ``pan``, in memory)."""

    merchant_id: str
    amount: int
    currency: str
    pan: str = field(repr=False)
    card: Card
    customer_id: str
    description: str
    metadata: Mapping[str, str]
    capture_method: CaptureMethod
    # A payment without a card: its method ("upi", "paypal_wallet") and the account charged (the
    # UPI address or the payer's email); ``card`` is then empty.
    method_type: str = "card"
    method_account: str = ""
    test_clock_id: str = ""


def created_event(new: NewPayment, fee_percent_bps: int, fee_fixed: int, at: datetime) -> payment_events.PaymentCreated:
    return payment_events.PaymentCreated(
        at=at,
        merchant_id=new.merchant_id,
        customer_id=new.customer_id,
        amount=new.amount,
        currency=new.currency,
        capture_method=new.capture_method,
        card=new.card,
        description=new.description,
        metadata=dict(new.metadata),
        fee_percent_bps=fee_percent_bps,
        fee_fixed=fee_fixed,
        method_type=new.method_type,
        method_account=new.method_account,
        test_clock_id=new.test_clock_id,
    )
