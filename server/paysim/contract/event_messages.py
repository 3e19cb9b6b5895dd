"""A payment event → ``paysim.v1.PaymentEvent``, the one wire message of an event, as
ListPaymentEvents lists it and SubscribePaymentEvents streams it.

The event's data is typed on the wire: one message per event type, in the ``data`` oneof field
named after the type (``payment.captured`` → ``payment_captured``), amounts as int64 minor units.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from paysim_proto.v1 import payment_pb2

from paysim.contract import payment_messages
from paysim.contract.timestamps import timestamp
from paysim.domain import payment_events as events
from paysim.domain.payment_events import EventType, PaymentEvent
from paysim.domain.payment_methods import MethodType
from paysim.domain.payment_values import Attempt


def data_field(event_type: EventType) -> str:
    """The ``data`` oneof field of an event type: ``payment.captured`` → ``payment_captured``."""
    return event_type.value.replace(".", "_")


def _attempt(attempt: Attempt | None) -> payment_pb2.GatewayAttempt | None:
    return None if attempt is None else payment_messages.attempt(attempt)


def _created(event: events.PaymentCreated) -> payment_pb2.PaymentCreated:
    method_type = MethodType(event.method_type)
    return payment_pb2.PaymentCreated(
        merchant_id=event.merchant_id,
        customer_id=event.customer_id,
        amount_minor=event.amount,
        currency_code=event.currency,
        capture_method=payment_messages.CAPTURE_TO_PROTO[event.capture_method],
        method_type=payment_messages.METHOD_TYPE_TO_PROTO[method_type],
        card=payment_messages.card(event.card) if method_type is MethodType.CARD else None,
        method_account=event.method_account,
        description=event.description,
        metadata=dict(event.metadata),
        fee_percent_bps=event.fee_percent_bps,
        fee_fixed_minor=event.fee_fixed,
    )


def _three_ds_failed(event: events.ThreeDSFailed) -> payment_pb2.PaymentThreeDSFailed:
    return payment_pb2.PaymentThreeDSFailed(
        authentication=payment_messages.authentication(event.authentication),
        reason=event.reason,
        decline=None if event.decline is None else payment_messages.decline(event.decline),
    )


# What each event class becomes on the wire. A class missing here fails the test that walks EventType.
_DATA: dict[type[Any], Callable[[Any], Any]] = {
    events.PaymentCreated: _created,
    events.PaymentAuthorized: lambda e: payment_pb2.PaymentAuthorized(
        amount_minor=e.amount, reference=e.reference, attempt=_attempt(e.attempt)
    ),
    events.PaymentDeclined: lambda e: payment_pb2.PaymentDeclined(
        decline=payment_messages.decline(e.decline), attempt=_attempt(e.attempt)
    ),
    events.PaymentFailed: lambda e: payment_pb2.PaymentFailed(reason=e.reason, attempt=_attempt(e.attempt)),
    events.PaymentAttemptFailed: lambda e: payment_pb2.PaymentAttemptFailed(attempt=_attempt(e.attempt)),
    events.PaymentCaptureRequested: lambda e: payment_pb2.PaymentCaptureRequested(amount_minor=e.amount),
    events.PaymentCaptured: lambda e: payment_pb2.PaymentCaptured(
        amount_minor=e.amount, fee_amount_minor=e.fee, attempt=_attempt(e.attempt)
    ),
    events.PaymentCaptureFailed: lambda e: payment_pb2.PaymentCaptureFailed(
        reason=e.reason, attempt=_attempt(e.attempt)
    ),
    events.PaymentVoidRequested: lambda e: payment_pb2.PaymentVoidRequested(),
    events.PaymentVoided: lambda e: payment_pb2.PaymentVoided(attempt=_attempt(e.attempt)),
    events.PaymentVoidFailed: lambda e: payment_pb2.PaymentVoidFailed(reason=e.reason, attempt=_attempt(e.attempt)),
    events.RefundRequested: lambda e: payment_pb2.RefundRequested(
        refund_id=e.refund_id, amount_minor=e.amount, reason=e.reason
    ),
    events.RefundSucceeded: lambda e: payment_pb2.RefundSucceeded(refund_id=e.refund_id, attempt=_attempt(e.attempt)),
    events.RefundFailed: lambda e: payment_pb2.RefundFailed(
        refund_id=e.refund_id, reason=e.reason, attempt=_attempt(e.attempt)
    ),
    events.ThreeDSChallengeRequired: lambda e: payment_pb2.PaymentThreeDSChallengeRequired(
        authentication=payment_messages.authentication(e.authentication),
        challenge=payment_messages.challenge(e.challenge),
    ),
    events.ThreeDSAuthenticated: lambda e: payment_pb2.PaymentThreeDSAuthenticated(
        authentication=payment_messages.authentication(e.authentication)
    ),
    events.ThreeDSNotSupported: lambda e: payment_pb2.PaymentThreeDSNotSupported(
        authentication=payment_messages.authentication(e.authentication)
    ),
    events.ThreeDSFailed: _three_ds_failed,
    events.ThreeDSChallengeExpired: lambda e: payment_pb2.PaymentThreeDSChallengeExpired(
        authentication=payment_messages.authentication(e.authentication), reason=e.reason
    ),
}


def payment_event(
    *,
    event_id: str,
    payment_id: str,
    merchant_id: str,
    payment_version: int,
    sequence: int,
    created_at: datetime,
    event: PaymentEvent,
) -> payment_pb2.PaymentEvent:
    return payment_pb2.PaymentEvent(
        id=event_id,
        type=event.type.value,
        payment_id=payment_id,
        merchant_id=merchant_id,
        payment_version=payment_version,
        sequence=sequence,
        create_time=timestamp(created_at),
        **{data_field(event.type): _DATA[type(event)](event)},
    )
