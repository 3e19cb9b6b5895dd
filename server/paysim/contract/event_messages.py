"""A payment event → ``paysim.v1.PaymentEvent``, the one wire message of an event, as
ListPaymentEvents lists it and SubscribePaymentEvents streams it.

The event's data is typed on the wire: one message per event type, in the ``data`` oneof field
named after the type (``payment.captured`` → ``payment_captured``), amounts as int64 minor units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from paysim_proto.v1 import payment_pb2

from paysim.contract import dispute_messages, payment_messages
from paysim.contract.timestamps import timestamp
from paysim.domain import payment_events as events
from paysim.domain.payment_events import EventType, PaymentEvent
from paysim.domain.payment_methods import MethodType
from paysim.domain.payment_values import Attempt

ThreeDSEvent = (
    events.ThreeDSChallengeRequired
    | events.ThreeDSAuthenticated
    | events.ThreeDSNotSupported
    | events.ThreeDSFailed
    | events.ThreeDSChallengeExpired
)


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


def _three_ds_data(event: ThreeDSEvent) -> Message:
    authentication = payment_messages.authentication(event.authentication)
    match event:
        case events.ThreeDSChallengeRequired():
            challenge = payment_messages.challenge(event.challenge)
            return payment_pb2.PaymentThreeDSChallengeRequired(authentication=authentication, challenge=challenge)
        case events.ThreeDSAuthenticated():
            return payment_pb2.PaymentThreeDSAuthenticated(authentication=authentication)
        case events.ThreeDSNotSupported():
            return payment_pb2.PaymentThreeDSNotSupported(authentication=authentication)
        case events.ThreeDSFailed():
            return _three_ds_failed(event)
        case events.ThreeDSChallengeExpired():
            return payment_pb2.PaymentThreeDSChallengeExpired(authentication=authentication, reason=event.reason)


def _data(event: PaymentEvent) -> Message:
    """What an event becomes on the wire. Exhaustive: mypy refuses an event class left out."""
    match event:
        case events.PaymentCreated():
            return _created(event)
        case events.PaymentAuthorized():
            attempt = _attempt(event.attempt)
            return payment_pb2.PaymentAuthorized(amount_minor=event.amount, reference=event.reference, attempt=attempt)
        case events.PaymentDeclined():
            decline = payment_messages.decline(event.decline)
            return payment_pb2.PaymentDeclined(decline=decline, attempt=_attempt(event.attempt))
        case events.PaymentFailed():
            return payment_pb2.PaymentFailed(reason=event.reason, attempt=_attempt(event.attempt))
        case events.PaymentAttemptFailed():
            return payment_pb2.PaymentAttemptFailed(attempt=_attempt(event.attempt))
        case events.PaymentCaptureRequested():
            return payment_pb2.PaymentCaptureRequested(amount_minor=event.amount)
        case events.PaymentCaptured():
            attempt = _attempt(event.attempt)
            return payment_pb2.PaymentCaptured(amount_minor=event.amount, fee_amount_minor=event.fee, attempt=attempt)
        case events.PaymentCaptureFailed():
            return payment_pb2.PaymentCaptureFailed(reason=event.reason, attempt=_attempt(event.attempt))
        case events.PaymentVoidRequested():
            return payment_pb2.PaymentVoidRequested()
        case events.PaymentVoided():
            return payment_pb2.PaymentVoided(attempt=_attempt(event.attempt))
        case events.PaymentVoidFailed():
            return payment_pb2.PaymentVoidFailed(reason=event.reason, attempt=_attempt(event.attempt))
        case events.PaymentAuthorizationExpired():
            return payment_pb2.PaymentAuthorizationExpired(reason=event.reason)
        case events.RefundRequested():
            return payment_pb2.RefundRequested(
                refund_id=event.refund_id, amount_minor=event.amount, reason=event.reason
            )
        case events.RefundPending():
            settle_time = timestamp(event.settles_at)
            attempt = _attempt(event.attempt)
            return payment_pb2.RefundPending(refund_id=event.refund_id, settle_time=settle_time, attempt=attempt)
        case events.RefundSucceeded():
            return payment_pb2.RefundSucceeded(refund_id=event.refund_id, attempt=_attempt(event.attempt))
        case events.RefundFailed():
            attempt = _attempt(event.attempt)
            return payment_pb2.RefundFailed(refund_id=event.refund_id, reason=event.reason, attempt=attempt)
        case (
            events.ThreeDSChallengeRequired()
            | events.ThreeDSAuthenticated()
            | events.ThreeDSNotSupported()
            | events.ThreeDSFailed()
            | events.ThreeDSChallengeExpired()
        ):
            return _three_ds_data(event)
        case (
            events.DisputeCreated()
            | events.DisputeUpdated()
            | events.DisputeClosed()
            | events.DisputeFundsWithdrawn()
            | events.DisputeFundsReinstated()
        ):
            return dispute_messages.event_data(event)


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
    # The oneof member is named at run time; its message is checked above, in _data.
    data: dict[str, Any] = {data_field(event.type): _data(event)}
    return payment_pb2.PaymentEvent(
        id=event_id,
        type=event.type.value,
        payment_id=payment_id,
        merchant_id=merchant_id,
        payment_version=payment_version,
        sequence=sequence,
        create_time=timestamp(created_at),
        **data,
    )
