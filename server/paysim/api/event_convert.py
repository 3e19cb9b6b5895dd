"""A stored payment event → ``paysim.v1.PaymentEvent``, the one wire message of an event, as
ListPaymentEvents lists it and SubscribePaymentEvents streams it.

The event's data is typed on the wire: one message per event type, in the ``data`` oneof field
named after the type (``payment.captured`` → ``payment_captured``), amounts as int64 minor units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from paysim_proto.v1 import payment_pb2

from paysim.api import payment_convert as pc
from paysim.api.convert import timestamp
from paysim.domain import payment as agg
from paysim.domain import threeds
from paysim.domain.payment_methods import MethodType

Data = Mapping[str, Any]
P = payment_pb2


def data_field(event_type: agg.EventType) -> str:
    """The ``data`` oneof field of an event type: ``payment.captured`` → ``payment_captured``."""
    return event_type.value.replace(".", "_")


def _attempt(data: Data) -> P.GatewayAttempt | None:
    a = data.get("attempt")
    if not a:
        return None
    return pc.attempt(
        agg.Attempt(
            gateway=a["gateway"],
            operation=a["operation"],
            outcome=a["outcome"],
            reference=a.get("reference", ""),
            latency_ms=int(a.get("latency_ms", 0)),
            at=datetime.fromisoformat(a["at"]),
            detail=a.get("detail", ""),
        )
    )


def _decline(data: Data) -> P.Decline | None:
    d = data.get("decline")
    if not d:
        return None
    return pc.decline(agg.DeclineInfo(d["code"], d["error_code"], d["message"], bool(d["retryable"])))


def _authentication(data: Data) -> P.ThreeDSAuthentication | None:
    return pc.authentication(threeds.authentication_from(data["authentication"]))


def _created(d: Data) -> P.PaymentCreated:
    method = d.get("method") or {}
    method_type = MethodType(method.get("type", MethodType.CARD))
    card = d["card"]
    return P.PaymentCreated(
        merchant_id=d["merchant_id"],
        customer_id=d.get("customer_id", ""),
        amount_minor=int(d["amount"]),
        currency_code=d["currency"],
        capture_method=pc.CAPTURE_TO_PROTO[agg.CaptureMethod(d["capture_method"])],
        method_type=pc.METHOD_TYPE_TO_PROTO[method_type],
        card=None
        if method_type is not MethodType.CARD
        else pc.card(
            agg.Card(
                brand=card["brand"],
                bin=card["bin"],
                last4=card["last4"],
                exp_month=int(card["exp_month"]),
                exp_year=int(card["exp_year"]),
                fingerprint=card["fingerprint"],
                holder_name=card.get("holder_name", ""),
            )
        ),
        method_account=method.get("account", ""),
        description=d.get("description", ""),
        metadata=dict(d.get("metadata", {})),
        fee_percent_bps=int(d["fee_percent_bps"]),
        fee_fixed_minor=int(d["fee_fixed"]),
    )


def _challenge_required(d: Data) -> P.PaymentThreeDSChallengeRequired:
    return P.PaymentThreeDSChallengeRequired(
        authentication=_authentication(d), challenge=pc.challenge(threeds.challenge_from(d["challenge"]))
    )


# What each event type's data becomes. A type missing here fails the test that walks EventType.
_DATA: dict[agg.EventType, Callable[[Data], Any]] = {
    agg.EventType.CREATED: _created,
    agg.EventType.AUTHORIZED: lambda d: P.PaymentAuthorized(
        amount_minor=int(d["amount"]), reference=d.get("reference", ""), attempt=_attempt(d)
    ),
    agg.EventType.DECLINED: lambda d: P.PaymentDeclined(decline=_decline(d), attempt=_attempt(d)),
    agg.EventType.FAILED: lambda d: P.PaymentFailed(reason=d.get("reason", ""), attempt=_attempt(d)),
    agg.EventType.ATTEMPT_FAILED: lambda d: P.PaymentAttemptFailed(attempt=_attempt(d)),
    agg.EventType.CAPTURE_REQUESTED: lambda d: P.PaymentCaptureRequested(amount_minor=int(d["amount"])),
    agg.EventType.CAPTURED: lambda d: P.PaymentCaptured(
        amount_minor=int(d["amount"]), fee_amount_minor=int(d["fee"]), attempt=_attempt(d)
    ),
    agg.EventType.CAPTURE_FAILED: lambda d: P.PaymentCaptureFailed(reason=d.get("reason", ""), attempt=_attempt(d)),
    agg.EventType.VOID_REQUESTED: lambda d: P.PaymentVoidRequested(),
    agg.EventType.VOIDED: lambda d: P.PaymentVoided(attempt=_attempt(d)),
    agg.EventType.VOID_FAILED: lambda d: P.PaymentVoidFailed(reason=d.get("reason", ""), attempt=_attempt(d)),
    agg.EventType.REFUND_REQUESTED: lambda d: P.RefundRequested(
        refund_id=d["refund_id"], amount_minor=int(d["amount"]), reason=d.get("reason", "")
    ),
    agg.EventType.REFUND_SUCCEEDED: lambda d: P.RefundSucceeded(refund_id=d["refund_id"], attempt=_attempt(d)),
    agg.EventType.REFUND_FAILED: lambda d: P.RefundFailed(
        refund_id=d["refund_id"], reason=d.get("reason", ""), attempt=_attempt(d)
    ),
    agg.EventType.THREE_DS_CHALLENGE_REQUIRED: _challenge_required,
    agg.EventType.THREE_DS_AUTHENTICATED: lambda d: P.PaymentThreeDSAuthenticated(authentication=_authentication(d)),
    agg.EventType.THREE_DS_NOT_SUPPORTED: lambda d: P.PaymentThreeDSNotSupported(authentication=_authentication(d)),
    agg.EventType.THREE_DS_FAILED: lambda d: P.PaymentThreeDSFailed(
        authentication=_authentication(d), reason=d.get("reason", ""), decline=_decline(d)
    ),
    agg.EventType.THREE_DS_CHALLENGE_EXPIRED: lambda d: P.PaymentThreeDSChallengeExpired(
        authentication=_authentication(d), reason=d.get("reason", "")
    ),
}


def payment_event(
    *,
    event_id: str,
    event_type: str,
    payment_id: str,
    merchant_id: str,
    payment_version: int,
    sequence: int,
    created_at: datetime,
    data: Data,
) -> P.PaymentEvent:
    kind = agg.EventType(event_type)
    return P.PaymentEvent(
        id=event_id,
        type=event_type,
        payment_id=payment_id,
        merchant_id=merchant_id,
        payment_version=payment_version,
        sequence=sequence,
        create_time=timestamp(created_at),
        **{data_field(kind): _DATA[kind](data)},
    )
