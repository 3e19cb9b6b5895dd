"""The payment aggregate: its state, its events, and the pure rules that decide them.

State changes only by applying events (``apply``); commands (``request_capture`` …) check the
rules against the current state and return the events to append, or raise a domain error.
Replaying a payment's events from nothing must rebuild exactly its stored projection.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from paysim.domain import threeds
from paysim.domain.errors import Aborted, FailedPrecondition, PreconditionViolation


class Status(enum.StrEnum):
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    DECLINED = "declined"
    FAILED = "failed"


class CaptureMethod(enum.StrEnum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


class EventType(enum.StrEnum):
    CREATED = "payment.created"
    AUTHORIZED = "payment.authorized"
    DECLINED = "payment.declined"
    FAILED = "payment.failed"
    CAPTURE_REQUESTED = "payment.capture_requested"
    CAPTURED = "payment.captured"
    CAPTURE_FAILED = "payment.capture_failed"
    VOID_REQUESTED = "payment.void_requested"
    VOIDED = "payment.voided"
    VOID_FAILED = "payment.void_failed"
    REFUND_REQUESTED = "refund.requested"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    # A gateway attempt that gave no answer (an error, a timeout, an open breaker): the payment
    # moves on to the next gateway, so its status does not change.
    ATTEMPT_FAILED = "payment.attempt_failed"
    # 3-D Secure (domain/threeds.py). Each carries the authentication as it stands.
    THREE_DS_CHALLENGE_REQUIRED = "payment.three_ds_challenge_required"  # → requires_action
    THREE_DS_AUTHENTICATED = "payment.three_ds_authenticated"  # Y or A: on to the gateway
    THREE_DS_NOT_SUPPORTED = "payment.three_ds_not_supported"  # U: on to the gateway without it
    THREE_DS_FAILED = "payment.three_ds_failed"  # N, R or U: failed (a failed lookup: declined)
    THREE_DS_CHALLENGE_EXPIRED = "payment.three_ds_challenge_expired"  # not answered in time: failed


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    data: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Card:
    """What is kept of a card: never the number or the CVC."""

    brand: str
    bin: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    holder_name: str


@dataclass(frozen=True, slots=True)
class DeclineInfo:
    code: str
    error_code: str
    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class Attempt:
    gateway: str
    operation: str
    outcome: str
    reference: str
    latency_ms: int
    at: datetime
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RefundState:
    id: str
    amount: int
    status: str  # pending | succeeded | failed
    reason: str
    created_at: datetime
    failure_reason: str = ""


@dataclass(frozen=True, slots=True)
class PaymentState:
    id: str
    merchant_id: str
    customer_id: str
    amount: int
    currency: str
    capture_method: CaptureMethod
    card: Card
    description: str
    metadata: Mapping[str, str]
    fee_percent_bps: int
    fee_fixed: int
    created_at: datetime
    updated_at: datetime
    status: Status = Status.PROCESSING
    # "card", or a method without a card ("upi", "paypal_wallet") and the account it charges.
    method_type: str = "card"
    method_account: str = ""
    authorized_amount: int = 0
    captured_amount: int = 0
    refunded_amount: int = 0
    pending_refund_amount: int = 0
    pending_operation: str = ""  # "" | "capture" | "void"
    pending_capture_amount: int = 0
    fee_amount: int = 0
    decline: DeclineInfo | None = None
    failure_reason: str = ""
    gateway_reference: str = ""
    # The gateway that answered the authorization: capture, void and refund go there.
    gateway: str = ""
    attempts: tuple[Attempt, ...] = ()
    refunds: tuple[RefundState, ...] = ()
    authentication: threeds.Authentication | None = None
    challenge: threeds.Challenge | None = None
    version: int = 0

    @property
    def net_amount(self) -> int:
        return self.captured_amount - self.fee_amount - self.refunded_amount

    @property
    def in_progress(self) -> bool:
        """A gateway call's outcome is outstanding (never while the payment waits for its customer)."""
        return self.status is Status.PROCESSING or bool(self.pending_operation) or self.pending_refund_amount > 0

    @property
    def refundable_amount(self) -> int:
        return self.captured_amount - self.refunded_amount - self.pending_refund_amount

    def refund(self, refund_id: str) -> RefundState:
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise KeyError(refund_id)


NO_CARD = Card("", "", "", 0, 0, "", "")
"""The card of a payment paid another way (UPI, a PayPal wallet)."""


def fee_for(captured: int, percent_bps: int, fixed: int) -> int:
    """Percentage rounded half up to the minor unit, plus the fixed part; never above the capture."""
    if captured <= 0:
        return 0
    return min(captured, (captured * percent_bps + 5_000) // 10_000 + fixed)


# --- applying events -------------------------------------------------------------------------


def _attempt(data: Mapping[str, Any] | None) -> tuple[Attempt, ...]:
    if not data:
        return ()
    return (
        Attempt(
            gateway=data["gateway"],
            operation=data["operation"],
            outcome=data["outcome"],
            reference=data.get("reference", ""),
            latency_ms=int(data.get("latency_ms", 0)),
            at=datetime.fromisoformat(data["at"]),
            detail=data.get("detail", ""),
        ),
    )


def attempt_data(attempt: Attempt) -> dict[str, Any]:
    return {
        "gateway": attempt.gateway,
        "operation": attempt.operation,
        "outcome": attempt.outcome,
        "reference": attempt.reference,
        "latency_ms": attempt.latency_ms,
        "at": attempt.at.isoformat(),
        "detail": attempt.detail,
    }


def _gateway_of(data: Mapping[str, Any], current: str) -> str:
    attempt = data.get("attempt")
    return str(attempt["gateway"]) if attempt else current


def create(event: Event, payment_id: str) -> PaymentState:
    d = event.data
    card = d["card"]
    return PaymentState(
        id=payment_id,
        merchant_id=d["merchant_id"],
        customer_id=d.get("customer_id", ""),
        amount=int(d["amount"]),
        currency=d["currency"],
        capture_method=CaptureMethod(d["capture_method"]),
        card=Card(
            brand=card["brand"],
            bin=card["bin"],
            last4=card["last4"],
            exp_month=int(card["exp_month"]),
            exp_year=int(card["exp_year"]),
            fingerprint=card["fingerprint"],
            holder_name=card.get("holder_name", ""),
        ),
        description=d.get("description", ""),
        metadata=dict(d.get("metadata", {})),
        fee_percent_bps=int(d["fee_percent_bps"]),
        fee_fixed=int(d["fee_fixed"]),
        created_at=event.at,
        updated_at=event.at,
        method_type=d.get("method", {}).get("type", "card"),
        method_account=d.get("method", {}).get("account", ""),
        version=1,
    )


def _after_refunds(state: PaymentState) -> Status:
    if state.refunded_amount == 0:
        return Status.CAPTURED
    if state.refunded_amount >= state.captured_amount:
        return Status.REFUNDED
    return Status.PARTIALLY_REFUNDED


def _set_refund(state: PaymentState, refund_id: str, **changes: Any) -> tuple[RefundState, ...]:
    return tuple(replace(r, **changes) if r.id == refund_id else r for r in state.refunds)


def _decline(d: Mapping[str, Any]) -> DeclineInfo:
    return DeclineInfo(d["code"], d["error_code"], d["message"], bool(d["retryable"]))


def _challenge_now(state: PaymentState, status: threeds.ChallengeStatus) -> threeds.Challenge | None:
    return None if state.challenge is None else replace(state.challenge, status=status)


def _apply_three_ds(s: PaymentState, t: EventType, d: Mapping[str, Any]) -> PaymentState:
    s = replace(s, authentication=threeds.authentication_from(d["authentication"]))
    if t is EventType.THREE_DS_CHALLENGE_REQUIRED:
        return replace(s, status=Status.REQUIRES_ACTION, challenge=threeds.challenge_from(d["challenge"]))
    if t is EventType.THREE_DS_AUTHENTICATED:
        return replace(s, status=Status.PROCESSING, challenge=_challenge_now(s, threeds.ChallengeStatus.COMPLETED))
    if t is EventType.THREE_DS_NOT_SUPPORTED:
        return s
    if t is EventType.THREE_DS_FAILED:
        s = replace(s, challenge=_challenge_now(s, threeds.ChallengeStatus.COMPLETED))
        if d.get("decline"):
            return replace(s, status=Status.DECLINED, decline=_decline(d["decline"]))
        return replace(s, status=Status.FAILED, failure_reason=d["reason"])
    if t is EventType.THREE_DS_CHALLENGE_EXPIRED:
        challenge = _challenge_now(s, threeds.ChallengeStatus.EXPIRED)
        return replace(s, status=Status.FAILED, failure_reason=d["reason"], challenge=challenge)
    raise ValueError(f"{t} is not a 3-D Secure event")


def apply(state: PaymentState, event: Event) -> PaymentState:
    """The state after ``event``. Pure: the same events always give the same state."""
    d = event.data
    s = replace(state, version=state.version + 1, updated_at=event.at)
    t = event.type
    if t is EventType.AUTHORIZED:
        return replace(
            s,
            status=Status.AUTHORIZED,
            authorized_amount=int(d["amount"]),
            gateway_reference=d.get("reference", ""),
            gateway=_gateway_of(d, s.gateway),
            attempts=s.attempts + _attempt(d.get("attempt")),
        )
    if t is EventType.DECLINED:
        return replace(
            s,
            status=Status.DECLINED,
            decline=_decline(d["decline"]),
            gateway=_gateway_of(d, s.gateway),
            attempts=s.attempts + _attempt(d.get("attempt")),
        )
    if t is EventType.ATTEMPT_FAILED:
        return replace(s, attempts=s.attempts + _attempt(d.get("attempt")))
    if t is EventType.FAILED:
        return replace(
            s, status=Status.FAILED, failure_reason=d["reason"], attempts=s.attempts + _attempt(d.get("attempt"))
        )
    if t is EventType.CAPTURE_REQUESTED:
        return replace(s, pending_operation="capture", pending_capture_amount=int(d["amount"]))
    if t is EventType.CAPTURED:
        captured = int(d["amount"])
        return replace(
            s,
            status=Status.CAPTURED,
            captured_amount=captured,
            fee_amount=int(d["fee"]),
            pending_operation="",
            pending_capture_amount=0,
            attempts=s.attempts + _attempt(d.get("attempt")),
        )
    if t is EventType.CAPTURE_FAILED or t is EventType.VOID_FAILED:
        return replace(
            s, pending_operation="", pending_capture_amount=0, attempts=s.attempts + _attempt(d.get("attempt"))
        )
    if t is EventType.VOID_REQUESTED:
        return replace(s, pending_operation="void")
    if t is EventType.VOIDED:
        return replace(s, status=Status.VOIDED, pending_operation="", attempts=s.attempts + _attempt(d.get("attempt")))
    if t is EventType.REFUND_REQUESTED:
        refund = RefundState(
            id=d["refund_id"],
            amount=int(d["amount"]),
            status="pending",
            reason=d.get("reason", ""),
            created_at=event.at,
        )
        return replace(s, refunds=(*s.refunds, refund), pending_refund_amount=s.pending_refund_amount + refund.amount)
    if t is EventType.REFUND_SUCCEEDED:
        refund = s.refund(d["refund_id"])
        s = replace(
            s,
            refunds=_set_refund(s, refund.id, status="succeeded"),
            refunded_amount=s.refunded_amount + refund.amount,
            pending_refund_amount=s.pending_refund_amount - refund.amount,
            attempts=s.attempts + _attempt(d.get("attempt")),
        )
        return replace(s, status=_after_refunds(s))
    if t is EventType.REFUND_FAILED:
        refund = s.refund(d["refund_id"])
        return replace(
            s,
            refunds=_set_refund(s, refund.id, status="failed", failure_reason=d.get("reason", "")),
            pending_refund_amount=s.pending_refund_amount - refund.amount,
            attempts=s.attempts + _attempt(d.get("attempt")),
        )
    if t in _THREE_DS_EVENTS:
        return _apply_three_ds(s, t, d)
    raise ValueError(f"cannot apply {t} to an existing payment")


_THREE_DS_EVENTS = frozenset(
    {
        EventType.THREE_DS_CHALLENGE_REQUIRED,
        EventType.THREE_DS_AUTHENTICATED,
        EventType.THREE_DS_NOT_SUPPORTED,
        EventType.THREE_DS_FAILED,
        EventType.THREE_DS_CHALLENGE_EXPIRED,
    }
)


def replay(payment_id: str, events: Iterable[Event], start: PaymentState | None = None) -> PaymentState:
    """Fold events into state, from nothing or from a snapshot (``start``)."""
    state = start
    for event in events:
        if state is None:
            if event.type is not EventType.CREATED:
                raise ValueError("a payment's history must start with payment.created")
            state = create(event, payment_id)
        else:
            state = apply(state, event)
    if state is None:
        raise ValueError("no events")
    return state


# --- deciding ----------------------------------------------------------------------------------


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


def request_capture(state: PaymentState, amount: int, at: datetime) -> Event:
    """``amount`` 0 means the whole authorized amount."""
    if state.pending_operation:
        raise _busy(state)
    if state.status is not Status.AUTHORIZED:
        raise _wrong_state(state, "captured", "PAYMENT_NOT_CAPTURABLE")
    amount = amount or state.authorized_amount
    if amount > state.authorized_amount:
        raise FailedPrecondition(
            f"cannot capture {amount}: only {state.authorized_amount} is authorized",
            reason="AMOUNT_EXCEEDS_AUTHORIZED",
            metadata={"payment_id": state.id, "authorized_amount_minor": str(state.authorized_amount)},
        )
    return Event(EventType.CAPTURE_REQUESTED, {"amount": amount}, at)


def request_void(state: PaymentState, at: datetime) -> Event:
    if state.pending_operation:
        raise _busy(state)
    if state.status is not Status.AUTHORIZED:
        raise _wrong_state(state, "voided", "PAYMENT_NOT_VOIDABLE")
    return Event(EventType.VOID_REQUESTED, {}, at)


def request_refund(state: PaymentState, refund_id: str, amount: int, reason: str, at: datetime) -> Event:
    """``amount`` 0 means everything still refundable."""
    if state.status not in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
        raise _wrong_state(state, "refunded", "PAYMENT_NOT_REFUNDABLE")
    refundable = state.refundable_amount
    amount = amount or refundable
    if refundable <= 0 or amount > refundable:
        raise FailedPrecondition(
            f"cannot refund {amount}: {refundable} is refundable",
            reason="AMOUNT_EXCEEDS_REFUNDABLE",
            metadata={"payment_id": state.id, "refundable_amount_minor": str(refundable)},
        )
    return Event(EventType.REFUND_REQUESTED, {"refund_id": refund_id, "amount": amount, "reason": reason}, at)


def captured_event(state: PaymentState, amount: int, attempt: Attempt) -> Event:
    fee = fee_for(amount, state.fee_percent_bps, state.fee_fixed)
    return Event(EventType.CAPTURED, {"amount": amount, "fee": fee, "attempt": attempt_data(attempt)}, attempt.at)


def attempt_event(kind: EventType, attempt: Attempt, **data: Any) -> Event:
    return Event(kind, {**data, "attempt": attempt_data(attempt)}, attempt.at)


def three_ds_event(kind: EventType, authentication: threeds.Authentication, at: datetime, **data: Any) -> Event:
    """A 3-D Secure event: the authentication as it stands, and what else ``kind`` needs
    (``challenge`` for a challenge, ``reason`` or ``decline`` for a failure)."""
    return Event(kind, {**data, "authentication": authentication.to_dict()}, at)


# --- serialisation (projection and snapshot rows) ----------------------------------------------


def to_dict(state: PaymentState) -> dict[str, Any]:
    return {
        "id": state.id,
        "merchant_id": state.merchant_id,
        "customer_id": state.customer_id,
        "amount": state.amount,
        "currency": state.currency,
        "capture_method": state.capture_method.value,
        "card": {
            "brand": state.card.brand,
            "bin": state.card.bin,
            "last4": state.card.last4,
            "exp_month": state.card.exp_month,
            "exp_year": state.card.exp_year,
            "fingerprint": state.card.fingerprint,
            "holder_name": state.card.holder_name,
        },
        "description": state.description,
        "metadata": dict(state.metadata),
        "fee_percent_bps": state.fee_percent_bps,
        "fee_fixed": state.fee_fixed,
        "method_type": state.method_type,
        "method_account": state.method_account,
        "created_at": state.created_at.isoformat(),
        "updated_at": state.updated_at.isoformat(),
        "status": state.status.value,
        "authorized_amount": state.authorized_amount,
        "captured_amount": state.captured_amount,
        "refunded_amount": state.refunded_amount,
        "pending_refund_amount": state.pending_refund_amount,
        "pending_operation": state.pending_operation,
        "pending_capture_amount": state.pending_capture_amount,
        "fee_amount": state.fee_amount,
        "decline": None
        if state.decline is None
        else {
            "code": state.decline.code,
            "error_code": state.decline.error_code,
            "message": state.decline.message,
            "retryable": state.decline.retryable,
        },
        "failure_reason": state.failure_reason,
        "gateway_reference": state.gateway_reference,
        "gateway": state.gateway,
        "attempts": [attempt_data(a) for a in state.attempts],
        "refunds": [
            {
                "id": r.id,
                "amount": r.amount,
                "status": r.status,
                "reason": r.reason,
                "created_at": r.created_at.isoformat(),
                "failure_reason": r.failure_reason,
            }
            for r in state.refunds
        ],
        "authentication": None if state.authentication is None else state.authentication.to_dict(),
        "challenge": None if state.challenge is None else state.challenge.to_dict(),
        "version": state.version,
    }


def from_dict(d: Mapping[str, Any]) -> PaymentState:
    card = d["card"]
    dec = d.get("decline")
    # Rows written before 3-D Secure existed have neither key.
    authentication, challenge = d.get("authentication"), d.get("challenge")
    return PaymentState(
        id=d["id"],
        merchant_id=d["merchant_id"],
        customer_id=d["customer_id"],
        amount=int(d["amount"]),
        currency=d["currency"],
        capture_method=CaptureMethod(d["capture_method"]),
        card=Card(
            card["brand"],
            card["bin"],
            card["last4"],
            int(card["exp_month"]),
            int(card["exp_year"]),
            card["fingerprint"],
            card["holder_name"],
        ),
        description=d["description"],
        metadata=dict(d["metadata"]),
        fee_percent_bps=int(d["fee_percent_bps"]),
        fee_fixed=int(d["fee_fixed"]),
        method_type=d.get("method_type", "card"),
        method_account=d.get("method_account", ""),
        created_at=datetime.fromisoformat(d["created_at"]),
        updated_at=datetime.fromisoformat(d["updated_at"]),
        status=Status(d["status"]),
        authorized_amount=int(d["authorized_amount"]),
        captured_amount=int(d["captured_amount"]),
        refunded_amount=int(d["refunded_amount"]),
        pending_refund_amount=int(d["pending_refund_amount"]),
        pending_operation=d["pending_operation"],
        pending_capture_amount=int(d["pending_capture_amount"]),
        fee_amount=int(d["fee_amount"]),
        decline=None if dec is None else _decline(dec),
        failure_reason=d["failure_reason"],
        gateway_reference=d["gateway_reference"],
        gateway=d.get("gateway", ""),
        attempts=tuple(_attempt(a)[0] for a in d["attempts"]),
        refunds=tuple(
            RefundState(
                r["id"],
                int(r["amount"]),
                r["status"],
                r["reason"],
                datetime.fromisoformat(r["created_at"]),
                r.get("failure_reason", ""),
            )
            for r in d["refunds"]
        ),
        authentication=None if authentication is None else threeds.authentication_from(authentication),
        challenge=None if challenge is None else threeds.challenge_from(challenge),
        version=int(d["version"]),
    )


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


def created_event(new: NewPayment, fee_percent_bps: int, fee_fixed: int, at: datetime) -> Event:
    return Event(
        EventType.CREATED,
        {
            "merchant_id": new.merchant_id,
            "customer_id": new.customer_id,
            "amount": new.amount,
            "currency": new.currency,
            "capture_method": new.capture_method.value,
            "card": {
                "brand": new.card.brand,
                "bin": new.card.bin,
                "last4": new.card.last4,
                "exp_month": new.card.exp_month,
                "exp_year": new.card.exp_year,
                "fingerprint": new.card.fingerprint,
                "holder_name": new.card.holder_name,
            },
            "description": new.description,
            "metadata": dict(new.metadata),
            "fee_percent_bps": fee_percent_bps,
            "fee_fixed": fee_fixed,
            **(
                {"method": {"type": new.method_type, "account": new.method_account}}
                if new.method_type != "card"
                else {}
            ),
        },
        at,
    )
