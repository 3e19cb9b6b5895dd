"""The payment aggregate: its state, how events change it, and the form its state is stored in.

State changes only by applying events (``apply``); the rules that decide which events to append
are domain/payment_rules.py. Replaying a payment's events from nothing must rebuild exactly its
stored projection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from paysim.domain import dispute_changes, disputes, payment_events, threeds
from paysim.domain.event_codec import attempt_data, attempt_from, card_data, card_from, decline_data, decline_from

# The aggregate is the face of its values and events: callers name them ``payment.Status`` …
from paysim.domain.payment_events import EventType as EventType
from paysim.domain.payment_events import PaymentEvent as PaymentEvent
from paysim.domain.payment_values import NO_CARD as NO_CARD
from paysim.domain.payment_values import Attempt as Attempt
from paysim.domain.payment_values import CaptureMethod as CaptureMethod
from paysim.domain.payment_values import Card as Card
from paysim.domain.payment_values import DeclineInfo as DeclineInfo
from paysim.domain.payment_values import RefundState as RefundState
from paysim.domain.payment_values import Status as Status


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
    # The test clock it lives on; "" for real time.
    test_clock_id: str = ""
    version: int = 0
    dispute: disputes.DisputeState | None = None

    @property
    def net_amount(self) -> int:
        return self.captured_amount - self.fee_amount - self.refunded_amount - self.disputed_net

    @property
    def disputed_net(self) -> int:
        """What the payment's dispute takes from its net: the amount withdrawn, less what came back,
        and the dispute fee."""
        return 0 if self.dispute is None else self.dispute.net_withdrawn

    @property
    def in_progress(self) -> bool:
        """A gateway call's outcome is outstanding (never while the payment waits for its customer)."""
        return self.status is Status.PROCESSING or bool(self.pending_operation) or self.pending_refund_amount > 0

    @property
    def refundable_amount(self) -> int:
        return self.captured_amount - self.refunded_amount - self.pending_refund_amount

    @property
    def refund_settles_at(self) -> datetime | None:
        """When its next asynchronous refund settles; None when none waits."""
        return min((r.settles_at for r in self.refunds if r.settles_at is not None), default=None)

    def refund(self, refund_id: str) -> RefundState:
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise KeyError(refund_id)


# --- applying events -------------------------------------------------------------------------


def create(event: payment_events.PaymentCreated, payment_id: str) -> PaymentState:
    return PaymentState(
        id=payment_id,
        merchant_id=event.merchant_id,
        customer_id=event.customer_id,
        amount=event.amount,
        currency=event.currency,
        capture_method=event.capture_method,
        card=event.card,
        description=event.description,
        metadata=dict(event.metadata),
        fee_percent_bps=event.fee_percent_bps,
        fee_fixed=event.fee_fixed,
        created_at=event.at,
        updated_at=event.at,
        method_type=event.method_type,
        method_account=event.method_account,
        test_clock_id=event.test_clock_id,
        version=1,
    )


def _attempted(state: PaymentState, attempt: Attempt | None) -> tuple[Attempt, ...]:
    return state.attempts if attempt is None else (*state.attempts, attempt)


def _gateway_of(state: PaymentState, attempt: Attempt | None) -> str:
    """The gateway that answered: the one capture, void and refund go to."""
    return state.gateway if attempt is None else attempt.gateway


def _after_refunds(state: PaymentState) -> Status:
    if state.refunded_amount == 0:
        return Status.CAPTURED
    if state.refunded_amount >= state.captured_amount:
        return Status.REFUNDED
    return Status.PARTIALLY_REFUNDED


def _set_refund(state: PaymentState, refund_id: str, **changes: Any) -> tuple[RefundState, ...]:
    return tuple(replace(r, **changes) if r.id == refund_id else r for r in state.refunds)


def _challenge_now(state: PaymentState, status: threeds.ChallengeStatus) -> threeds.Challenge | None:
    return None if state.challenge is None else replace(state.challenge, status=status)


def _apply_authorization(s: PaymentState, e: payment_events.PaymentEvent) -> PaymentState:
    match e:
        case payment_events.PaymentAuthorized():
            return replace(
                s,
                status=Status.AUTHORIZED,
                authorized_amount=e.amount,
                gateway_reference=e.reference,
                gateway=_gateway_of(s, e.attempt),
                attempts=_attempted(s, e.attempt),
            )
        case payment_events.PaymentDeclined():
            return replace(
                s,
                status=Status.DECLINED,
                decline=e.decline,
                gateway=_gateway_of(s, e.attempt),
                attempts=_attempted(s, e.attempt),
            )
        case payment_events.PaymentAttemptFailed():
            return replace(s, attempts=_attempted(s, e.attempt))
        case payment_events.PaymentFailed():
            return replace(s, status=Status.FAILED, failure_reason=e.reason, attempts=_attempted(s, e.attempt))
    raise ValueError(f"{e.type} is not an authorization event")


def _apply_operation(s: PaymentState, e: payment_events.PaymentEvent) -> PaymentState:
    """Capture and void: requested, then answered."""
    match e:
        case payment_events.PaymentCaptureRequested():
            return replace(s, pending_operation="capture", pending_capture_amount=e.amount)
        case payment_events.PaymentCaptured():
            return replace(
                s,
                status=Status.CAPTURED,
                captured_amount=e.amount,
                fee_amount=e.fee,
                pending_operation="",
                pending_capture_amount=0,
                attempts=_attempted(s, e.attempt),
            )
        case payment_events.PaymentCaptureFailed() | payment_events.PaymentVoidFailed():
            return replace(s, pending_operation="", pending_capture_amount=0, attempts=_attempted(s, e.attempt))
        case payment_events.PaymentVoidRequested():
            return replace(s, pending_operation="void")
        case payment_events.PaymentVoided():
            return replace(s, status=Status.VOIDED, pending_operation="", attempts=_attempted(s, e.attempt))
        case payment_events.PaymentAuthorizationExpired():
            return replace(s, status=Status.VOIDED, failure_reason=e.reason)
    raise ValueError(f"{e.type} is not a capture or void event")


def _apply_refund(s: PaymentState, e: payment_events.PaymentEvent) -> PaymentState:
    match e:
        case payment_events.RefundRequested():
            refund = RefundState(id=e.refund_id, amount=e.amount, status="pending", reason=e.reason, created_at=e.at)
            return replace(
                s, refunds=(*s.refunds, refund), pending_refund_amount=s.pending_refund_amount + refund.amount
            )
        case payment_events.RefundPending():
            return _counted(s, e.refund_id, e.attempt, status="pending", settles_at=e.settles_at, settlement="succeed")
        case payment_events.RefundSucceeded():
            if s.refund(e.refund_id).settles_at is not None:  # an asynchronous refund settles
                return replace(
                    s, refunds=_set_refund(s, e.refund_id, status="succeeded", settles_at=None, settlement="")
                )
            if e.fails_at is not None:
                return _counted(s, e.refund_id, e.attempt, status="succeeded", settles_at=e.fails_at, settlement="fail")
            return _counted(s, e.refund_id, e.attempt, status="succeeded")
        case payment_events.RefundFailed():
            refund = s.refund(e.refund_id)
            if refund.settles_at is not None:  # an asynchronous refund reversed: refundable again
                s = replace(
                    s,
                    refunds=_set_refund(
                        s, refund.id, status="failed", failure_reason=e.reason, settles_at=None, settlement=""
                    ),
                    refunded_amount=s.refunded_amount - refund.amount,
                    attempts=_attempted(s, e.attempt),
                )
                return replace(s, status=_after_refunds(s))
            return replace(
                s,
                refunds=_set_refund(s, refund.id, status="failed", failure_reason=e.reason),
                pending_refund_amount=s.pending_refund_amount - refund.amount,
                attempts=_attempted(s, e.attempt),
            )
    raise ValueError(f"{e.type} is not a refund event")


def _counted(s: PaymentState, refund_id: str, attempt: Attempt | None, **changes: Any) -> PaymentState:
    """The gateway accepted a refund: its amount moves from in flight to refunded."""
    amount = s.refund(refund_id).amount
    s = replace(
        s,
        refunds=_set_refund(s, refund_id, **changes),
        refunded_amount=s.refunded_amount + amount,
        pending_refund_amount=s.pending_refund_amount - amount,
        attempts=_attempted(s, attempt),
    )
    return replace(s, status=_after_refunds(s))


def _apply_three_ds(s: PaymentState, e: payment_events.PaymentEvent) -> PaymentState:
    match e:
        case payment_events.ThreeDSChallengeRequired():
            return replace(s, authentication=e.authentication, status=Status.REQUIRES_ACTION, challenge=e.challenge)
        case payment_events.ThreeDSAuthenticated():
            challenge = _challenge_now(s, threeds.ChallengeStatus.COMPLETED)
            return replace(s, authentication=e.authentication, status=Status.PROCESSING, challenge=challenge)
        case payment_events.ThreeDSNotSupported():
            return replace(s, authentication=e.authentication)
        case payment_events.ThreeDSFailed():
            s = replace(
                s, authentication=e.authentication, challenge=_challenge_now(s, threeds.ChallengeStatus.COMPLETED)
            )
            if e.decline is not None:
                return replace(s, status=Status.DECLINED, decline=e.decline)
            return replace(s, status=Status.FAILED, failure_reason=e.reason)
        case payment_events.ThreeDSChallengeExpired():
            challenge = _challenge_now(s, threeds.ChallengeStatus.EXPIRED)
            return replace(
                s, authentication=e.authentication, status=Status.FAILED, failure_reason=e.reason, challenge=challenge
            )
    raise ValueError(f"{e.type} is not a 3-D Secure event")


def _apply_dispute(s: PaymentState, e: payment_events.PaymentEvent) -> PaymentState:
    if not isinstance(
        e,
        payment_events.DisputeCreated
        | payment_events.DisputeUpdated
        | payment_events.DisputeClosed
        | payment_events.DisputeFundsWithdrawn
        | payment_events.DisputeFundsReinstated,
    ):
        raise ValueError(f"{e.type} is not a dispute event")
    return replace(s, dispute=dispute_changes.apply(s.dispute, e))


_APPLIERS: dict[
    type[payment_events.PaymentEvent], Callable[[PaymentState, payment_events.PaymentEvent], PaymentState]
] = {
    **dict.fromkeys(
        (
            payment_events.PaymentAuthorized,
            payment_events.PaymentDeclined,
            payment_events.PaymentAttemptFailed,
            payment_events.PaymentFailed,
        ),
        _apply_authorization,
    ),
    **dict.fromkeys(
        (
            payment_events.PaymentCaptureRequested,
            payment_events.PaymentCaptured,
            payment_events.PaymentCaptureFailed,
            payment_events.PaymentVoidRequested,
            payment_events.PaymentVoided,
            payment_events.PaymentVoidFailed,
            payment_events.PaymentAuthorizationExpired,
        ),
        _apply_operation,
    ),
    **dict.fromkeys(
        (
            payment_events.RefundRequested,
            payment_events.RefundPending,
            payment_events.RefundSucceeded,
            payment_events.RefundFailed,
        ),
        _apply_refund,
    ),
    **dict.fromkeys(
        (
            payment_events.ThreeDSChallengeRequired,
            payment_events.ThreeDSAuthenticated,
            payment_events.ThreeDSNotSupported,
            payment_events.ThreeDSFailed,
            payment_events.ThreeDSChallengeExpired,
        ),
        _apply_three_ds,
    ),
    **dict.fromkeys(
        (
            payment_events.DisputeCreated,
            payment_events.DisputeUpdated,
            payment_events.DisputeClosed,
            payment_events.DisputeFundsWithdrawn,
            payment_events.DisputeFundsReinstated,
        ),
        _apply_dispute,
    ),
}


def apply(state: PaymentState, event: payment_events.PaymentEvent) -> PaymentState:
    """The state after ``event``. Pure: the same events always give the same state."""
    applier = _APPLIERS.get(type(event))
    if applier is None:
        raise ValueError(f"cannot apply {event.type} to an existing payment")
    return applier(replace(state, version=state.version + 1, updated_at=event.at), event)


def replay(
    payment_id: str, events: Iterable[payment_events.PaymentEvent], start: PaymentState | None = None
) -> PaymentState:
    """Fold events into state, from nothing or from a snapshot (``start``)."""
    state = start
    for event in events:
        if state is None:
            if not isinstance(event, payment_events.PaymentCreated):
                raise ValueError("a payment's history must start with payment.created")
            state = create(event, payment_id)
        else:
            state = apply(state, event)
    if state is None:
        raise ValueError("no events")
    return state


# --- serialisation (projection and snapshot rows) ----------------------------------------------


def _settlement_data(refund: RefundState) -> dict[str, Any]:
    if refund.settles_at is None:
        return {}
    return {"settles_at": refund.settles_at.isoformat(), "settlement": refund.settlement}


def to_dict(state: PaymentState) -> dict[str, Any]:
    # A payment never disputed keeps the form it had before disputes existed.
    extra = {} if state.dispute is None else {"dispute": disputes.to_dict(state.dispute)}
    return {
        "id": state.id,
        "merchant_id": state.merchant_id,
        "customer_id": state.customer_id,
        "amount": state.amount,
        "currency": state.currency,
        "capture_method": state.capture_method.value,
        "card": card_data(state.card),
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
        "decline": None if state.decline is None else decline_data(state.decline),
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
                **_settlement_data(r),
            }
            for r in state.refunds
        ],
        "authentication": None if state.authentication is None else state.authentication.to_dict(),
        "challenge": None if state.challenge is None else state.challenge.to_dict(),
        **({"test_clock_id": state.test_clock_id} if state.test_clock_id else {}),
        "version": state.version,
        **extra,
    }


def from_dict(d: Mapping[str, Any]) -> PaymentState:
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
        card=card_from(d["card"]),
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
        decline=None if dec is None else decline_from(dec),
        failure_reason=d["failure_reason"],
        gateway_reference=d["gateway_reference"],
        gateway=d.get("gateway", ""),
        attempts=tuple(attempt_from(a) for a in d["attempts"]),
        refunds=tuple(
            RefundState(
                r["id"],
                int(r["amount"]),
                r["status"],
                r["reason"],
                datetime.fromisoformat(r["created_at"]),
                r.get("failure_reason", ""),
                datetime.fromisoformat(r["settles_at"]) if r.get("settles_at") else None,
                r.get("settlement", ""),
            )
            for r in d["refunds"]
        ),
        authentication=None if authentication is None else threeds.authentication_from(authentication),
        challenge=None if challenge is None else threeds.challenge_from(challenge),
        test_clock_id=d.get("test_clock_id", ""),
        version=int(d["version"]),
        dispute=None if d.get("dispute") is None else disputes.from_dict(d["dispute"]),
    )
