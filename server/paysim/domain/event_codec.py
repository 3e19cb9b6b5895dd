"""The one serialiser of payment events: a typed event ⇄ the JSON object the store keeps.

The stored form is the one every database already holds; what is read tolerates the keys older
rows lack. Each object written carries ``schema_version``; a row without it is version 1, the form
written before the field existed (the same keys), so old rows and new ones read alike. The card,
decline and attempt forms here are the ones payment snapshots keep too (domain/payment.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from paysim.domain import payment_events, threeds
from paysim.domain.disputes import DisputeKind, DisputeReason, DisputeStatus
from paysim.domain.payment_events import EventType, PaymentEvent
from paysim.domain.payment_values import Attempt, CaptureMethod, Card, DeclineInfo

SCHEMA_VERSION = 1
SCHEMA_VERSION_KEY = "schema_version"

Data = Mapping[str, Any]


# --- the parts events share --------------------------------------------------------------------


def card_data(card: Card) -> dict[str, Any]:
    data: dict[str, Any] = {
        "brand": card.brand,
        "bin": card.bin,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": card.fingerprint,
        "holder_name": card.holder_name,
    }
    # Written only when known, so that a row from before they existed writes back as it was read.
    if card.country:
        data["country"] = card.country
    if card.funding != _unknown_funding(card.brand):
        data["funding"] = card.funding
    for key in _SCREENING_KEYS:
        if value := getattr(card, key):
            data[key] = value
    return data


_SCREENING_KEYS = ("risk_level", "cvc_check", "address_line1_check", "address_postal_code_check")


def _unknown_funding(brand: str) -> str:
    """A card's funding when the row does not say: unknown, and none for a payment without a card."""
    return "unknown" if brand else ""


def card_from(data: Data) -> Card:
    return Card(
        brand=data["brand"],
        bin=data["bin"],
        last4=data["last4"],
        exp_month=int(data["exp_month"]),
        exp_year=int(data["exp_year"]),
        fingerprint=data["fingerprint"],
        holder_name=data.get("holder_name", ""),
        country=data.get("country", ""),
        funding=data.get("funding", _unknown_funding(data["brand"])),
        **{key: data.get(key, "") for key in _SCREENING_KEYS},
    )


def decline_data(decline: DeclineInfo) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": decline.code,
        "error_code": decline.error_code,
        "message": decline.message,
        "retryable": decline.retryable,
    }
    if decline.blocked_by:  # only when set, as the card's screening
        data["blocked_by"] = decline.blocked_by
    return data


def decline_from(data: Data) -> DeclineInfo:
    return DeclineInfo(
        data["code"], data["error_code"], data["message"], bool(data["retryable"]), data.get("blocked_by", "")
    )


def attempt_data(attempt: Attempt) -> dict[str, Any]:
    data = {
        "gateway": attempt.gateway,
        "operation": attempt.operation,
        "outcome": attempt.outcome,
        "reference": attempt.reference,
        "latency_ms": attempt.latency_ms,
        "at": attempt.at.isoformat(),
        "detail": attempt.detail,
    }
    # Only when set: the events of calls nothing simulated read as they always did.
    if attempt.chaos:
        data["chaos"] = True
    if attempt.simulated_by:
        data["simulated_by"] = attempt.simulated_by
    return data


def attempt_from(data: Data) -> Attempt:
    return Attempt(
        gateway=data["gateway"],
        operation=data["operation"],
        outcome=data["outcome"],
        reference=data.get("reference", ""),
        latency_ms=int(data.get("latency_ms", 0)),
        at=datetime.fromisoformat(data["at"]),
        detail=data.get("detail", ""),
        chaos=bool(data.get("chaos", False)),
        simulated_by=data.get("simulated_by", ""),
    )


def _optional_attempt(data: Data) -> Attempt | None:
    found = data.get("attempt")
    return attempt_from(found) if found else None


def _with_attempt(attempt: Attempt | None, **data: Any) -> dict[str, Any]:
    """``data`` plus the attempt when there was one (events recorded without a gateway call have none)."""
    return data if attempt is None else {**data, "attempt": attempt_data(attempt)}


# --- writing -------------------------------------------------------------------------------------


def _created_data(e: payment_events.PaymentCreated) -> dict[str, Any]:
    data: dict[str, Any] = {
        "merchant_id": e.merchant_id,
        "customer_id": e.customer_id,
        "amount": e.amount,
        "currency": e.currency,
        "capture_method": e.capture_method.value,
        "card": card_data(e.card),
        "description": e.description,
        "metadata": dict(e.metadata),
        "fee_percent_bps": e.fee_percent_bps,
        "fee_fixed": e.fee_fixed,
    }
    if e.method_type != "card":
        data["method"] = {"type": e.method_type, "account": e.method_account}
    if e.test_clock_id:
        data["test_clock_id"] = e.test_clock_id
    return data


def _three_ds_failed_data(e: payment_events.ThreeDSFailed) -> dict[str, Any]:
    outcome = {"decline": decline_data(e.decline)} if e.decline is not None else {"reason": e.reason}
    return {**outcome, "authentication": e.authentication.to_dict()}


def _fields(e: PaymentEvent) -> dict[str, Any]:
    match e:
        case payment_events.PaymentCreated():
            return _created_data(e)
        case payment_events.PaymentAuthorized():
            return _with_attempt(e.attempt, amount=e.amount, reference=e.reference)
        case payment_events.PaymentDeclined():
            return _with_attempt(e.attempt, decline=decline_data(e.decline))
        case (
            payment_events.PaymentFailed() | payment_events.PaymentCaptureFailed() | payment_events.PaymentVoidFailed()
        ):
            return _with_attempt(e.attempt, reason=e.reason)
        case payment_events.PaymentAttemptFailed() | payment_events.PaymentVoided():
            return _with_attempt(e.attempt)
        case payment_events.PaymentCaptureRequested():
            return {"amount": e.amount}
        case payment_events.PaymentCaptured():
            return _with_attempt(e.attempt, amount=e.amount, fee=e.fee)
        case payment_events.PaymentVoidRequested():
            return {}
        case payment_events.RefundRequested():
            return {"refund_id": e.refund_id, "amount": e.amount, "reason": e.reason}
        case payment_events.RefundPending():
            return _with_attempt(e.attempt, refund_id=e.refund_id, settles_at=e.settles_at.isoformat())
        case payment_events.RefundSucceeded():
            if e.fails_at is not None:
                return _with_attempt(e.attempt, refund_id=e.refund_id, fails_at=e.fails_at.isoformat())
            return _with_attempt(e.attempt, refund_id=e.refund_id)
        case payment_events.RefundFailed():
            return _with_attempt(e.attempt, refund_id=e.refund_id, reason=e.reason)
        case payment_events.ThreeDSChallengeRequired():
            return {"challenge": e.challenge.to_dict(), "authentication": e.authentication.to_dict()}
        case payment_events.ThreeDSAuthenticated() | payment_events.ThreeDSNotSupported():
            return {"authentication": e.authentication.to_dict()}
        case payment_events.ThreeDSFailed():
            return _three_ds_failed_data(e)
        case payment_events.ThreeDSChallengeExpired():
            return {"reason": e.reason, "authentication": e.authentication.to_dict()}
        case payment_events.PaymentAuthorizationExpired():
            return {"reason": e.reason}
        case (
            payment_events.DisputeCreated()
            | payment_events.DisputeUpdated()
            | payment_events.DisputeClosed()
            | payment_events.DisputeFundsWithdrawn()
            | payment_events.DisputeFundsReinstated()
        ):
            return _dispute_data(e)


def _dispute_data(e: payment_events.DisputeEvent) -> dict[str, Any]:
    match e:
        case payment_events.DisputeCreated():
            return {
                "dispute_id": e.dispute_id,
                "kind": e.kind.value,
                "reason": e.reason.value,
                "status": e.status.value,
                "amount": e.amount,
                "evidence_due_by": e.evidence_due_by.isoformat(),
                "test_clock_id": e.test_clock_id,
            }
        case payment_events.DisputeUpdated():
            review = None if e.review_due_at is None else e.review_due_at.isoformat()
            return {
                "dispute_id": e.dispute_id,
                "status": e.status.value,
                "evidence": dict(e.evidence),
                "evidence_due_by": e.evidence_due_by.isoformat(),
                "review_due_at": review,
            }
        case payment_events.DisputeClosed():
            return {"dispute_id": e.dispute_id, "status": e.status.value, "reason": e.reason}
        case payment_events.DisputeFundsWithdrawn():
            return {"dispute_id": e.dispute_id, "amount": e.amount, "fee": e.fee}
        case payment_events.DisputeFundsReinstated():
            return {"dispute_id": e.dispute_id, "amount": e.amount}


def to_data(event: PaymentEvent) -> dict[str, Any]:
    """The JSON object the store keeps for ``event`` (its type and time are columns of their own)."""
    return {**_fields(event), SCHEMA_VERSION_KEY: SCHEMA_VERSION}


# --- reading -------------------------------------------------------------------------------------


def _created(d: Data, at: datetime) -> payment_events.PaymentCreated:
    method = d.get("method") or {}
    return payment_events.PaymentCreated(
        at=at,
        merchant_id=d["merchant_id"],
        customer_id=d.get("customer_id", ""),
        amount=int(d["amount"]),
        currency=d["currency"],
        capture_method=CaptureMethod(d["capture_method"]),
        card=card_from(d["card"]),
        description=d.get("description", ""),
        metadata=dict(d.get("metadata", {})),
        fee_percent_bps=int(d["fee_percent_bps"]),
        fee_fixed=int(d["fee_fixed"]),
        method_type=method.get("type", "card"),
        method_account=method.get("account", ""),
        test_clock_id=d.get("test_clock_id", ""),
    )


def _authentication(d: Data) -> threeds.Authentication:
    return threeds.authentication_from(d["authentication"])


def _three_ds_failed(d: Data, at: datetime) -> payment_events.ThreeDSFailed:
    decline = decline_from(d["decline"]) if d.get("decline") else None
    return payment_events.ThreeDSFailed(
        at=at, authentication=_authentication(d), reason=d.get("reason", ""), decline=decline
    )


def _dispute_created(d: Data, at: datetime) -> payment_events.DisputeCreated:
    return payment_events.DisputeCreated(
        at=at,
        dispute_id=d["dispute_id"],
        kind=DisputeKind(d["kind"]),
        reason=DisputeReason(d["reason"]),
        status=DisputeStatus(d["status"]),
        amount=int(d["amount"]),
        evidence_due_by=datetime.fromisoformat(d["evidence_due_by"]),
        test_clock_id=d.get("test_clock_id"),
    )


def _dispute_updated(d: Data, at: datetime) -> payment_events.DisputeUpdated:
    review = d.get("review_due_at")
    return payment_events.DisputeUpdated(
        at=at,
        dispute_id=d["dispute_id"],
        status=DisputeStatus(d["status"]),
        evidence=dict(d.get("evidence", {})),
        evidence_due_by=datetime.fromisoformat(d["evidence_due_by"]),
        review_due_at=None if review is None else datetime.fromisoformat(review),
    )


_READERS: dict[EventType, Callable[[Data, datetime], PaymentEvent]] = {
    EventType.CREATED: _created,
    EventType.AUTHORIZED: lambda d, at: payment_events.PaymentAuthorized(
        at=at, amount=int(d["amount"]), reference=d.get("reference", ""), attempt=_optional_attempt(d)
    ),
    EventType.DECLINED: lambda d, at: payment_events.PaymentDeclined(
        at=at, decline=decline_from(d["decline"]), attempt=_optional_attempt(d)
    ),
    EventType.FAILED: lambda d, at: payment_events.PaymentFailed(
        at=at, reason=d["reason"], attempt=_optional_attempt(d)
    ),
    EventType.ATTEMPT_FAILED: lambda d, at: payment_events.PaymentAttemptFailed(at=at, attempt=_optional_attempt(d)),
    EventType.CAPTURE_REQUESTED: lambda d, at: payment_events.PaymentCaptureRequested(at=at, amount=int(d["amount"])),
    EventType.CAPTURED: lambda d, at: payment_events.PaymentCaptured(
        at=at, amount=int(d["amount"]), fee=int(d["fee"]), attempt=_optional_attempt(d)
    ),
    EventType.CAPTURE_FAILED: lambda d, at: payment_events.PaymentCaptureFailed(
        at=at, reason=d.get("reason", ""), attempt=_optional_attempt(d)
    ),
    EventType.VOID_REQUESTED: lambda d, at: payment_events.PaymentVoidRequested(at=at),
    EventType.VOIDED: lambda d, at: payment_events.PaymentVoided(at=at, attempt=_optional_attempt(d)),
    EventType.VOID_FAILED: lambda d, at: payment_events.PaymentVoidFailed(
        at=at, reason=d.get("reason", ""), attempt=_optional_attempt(d)
    ),
    EventType.REFUND_REQUESTED: lambda d, at: payment_events.RefundRequested(
        at=at, refund_id=d["refund_id"], amount=int(d["amount"]), reason=d.get("reason", "")
    ),
    EventType.REFUND_PENDING: lambda d, at: payment_events.RefundPending(
        at=at,
        refund_id=d["refund_id"],
        settles_at=datetime.fromisoformat(d["settles_at"]),
        attempt=_optional_attempt(d),
    ),
    EventType.REFUND_SUCCEEDED: lambda d, at: payment_events.RefundSucceeded(
        at=at,
        refund_id=d["refund_id"],
        attempt=_optional_attempt(d),
        fails_at=datetime.fromisoformat(d["fails_at"]) if d.get("fails_at") else None,
    ),
    EventType.REFUND_FAILED: lambda d, at: payment_events.RefundFailed(
        at=at, refund_id=d["refund_id"], reason=d.get("reason", ""), attempt=_optional_attempt(d)
    ),
    EventType.THREE_DS_CHALLENGE_REQUIRED: lambda d, at: payment_events.ThreeDSChallengeRequired(
        at=at, authentication=_authentication(d), challenge=threeds.challenge_from(d["challenge"])
    ),
    EventType.THREE_DS_AUTHENTICATED: lambda d, at: payment_events.ThreeDSAuthenticated(
        at=at, authentication=_authentication(d)
    ),
    EventType.THREE_DS_NOT_SUPPORTED: lambda d, at: payment_events.ThreeDSNotSupported(
        at=at, authentication=_authentication(d)
    ),
    EventType.THREE_DS_FAILED: _three_ds_failed,
    EventType.THREE_DS_CHALLENGE_EXPIRED: lambda d, at: payment_events.ThreeDSChallengeExpired(
        at=at, authentication=_authentication(d), reason=d.get("reason", "")
    ),
    EventType.AUTHORIZATION_EXPIRED: lambda d, at: payment_events.PaymentAuthorizationExpired(
        at=at, reason=d.get("reason", "")
    ),
    EventType.DISPUTE_CREATED: _dispute_created,
    EventType.DISPUTE_UPDATED: _dispute_updated,
    EventType.DISPUTE_CLOSED: lambda d, at: payment_events.DisputeClosed(
        at=at, dispute_id=d["dispute_id"], status=DisputeStatus(d["status"]), reason=d.get("reason", "")
    ),
    EventType.DISPUTE_FUNDS_WITHDRAWN: lambda d, at: payment_events.DisputeFundsWithdrawn(
        at=at, dispute_id=d["dispute_id"], amount=int(d["amount"]), fee=int(d["fee"])
    ),
    EventType.DISPUTE_FUNDS_REINSTATED: lambda d, at: payment_events.DisputeFundsReinstated(
        at=at, dispute_id=d["dispute_id"], amount=int(d["amount"])
    ),
}


def from_stored(event_type: str, data: Data, at: datetime) -> PaymentEvent:
    """The typed event a stored row holds; ValueError or KeyError when the row is not one."""
    version = int(data.get(SCHEMA_VERSION_KEY, 1))
    if version != SCHEMA_VERSION:
        raise ValueError(f"a {event_type} event of schema version {version} is not readable here")
    return _READERS[EventType(event_type)](data, at)
