"""Webhook records → protobuf messages, and the payment as a webhook body shows it."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from paysim_proto.v1 import webhook_pb2

from paysim.contract.payment_messages import payment
from paysim.contract.timestamps import timestamp
from paysim.domain.payment import PaymentState
from paysim.domain.webhooks import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint

STATE_TO_PROTO = {
    DeliveryState.PENDING: webhook_pb2.WEBHOOK_DELIVERY_STATE_PENDING,
    DeliveryState.DELIVERED: webhook_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED,
    DeliveryState.DEAD: webhook_pb2.WEBHOOK_DELIVERY_STATE_DEAD,
}
STATE_FROM_PROTO = {v: k for k, v in STATE_TO_PROTO.items()}


def endpoint(e: WebhookEndpoint) -> webhook_pb2.WebhookEndpoint:
    return webhook_pb2.WebhookEndpoint(
        id=e.id,
        merchant_id=e.merchant_id,
        url=e.url,
        event_types=list(e.event_types),
        enabled=e.enabled,
        description=e.description,
        disabled_reason=e.disabled_reason,
        previous_secret_expire_time=timestamp(e.previous_secret_expires_at),
        create_time=timestamp(e.created_at),
        update_time=timestamp(e.updated_at),
    )


def attempt(a: WebhookAttempt) -> webhook_pb2.WebhookAttempt:
    return webhook_pb2.WebhookAttempt(
        number=a.number, time=timestamp(a.at), http_status=a.http_status, error=a.error, duration_ms=a.duration_ms
    )


def delivery(d: WebhookDelivery) -> webhook_pb2.WebhookDelivery:
    return webhook_pb2.WebhookDelivery(
        id=d.id,
        endpoint_id=d.endpoint_id,
        merchant_id=d.merchant_id,
        event_id=d.event_id,
        event_type=d.event_type,
        payment_id=d.payment_id,
        sequence=d.sequence,
        state=STATE_TO_PROTO[d.state],
        attempt_count=d.attempt_count,
        next_attempt_time=timestamp(d.next_attempt_at),
        attempts=[attempt(a) for a in d.attempts],
        redelivery_of=d.redelivery_of,
        create_time=timestamp(d.created_at),
        update_time=timestamp(d.updated_at),
    )


def payment_json(state: PaymentState) -> dict[str, Any]:
    """The payment exactly as the API returns it, in the protobuf JSON mapping with the proto's
    field names (so ``json_format.ParseDict`` turns it back into a ``paysim.v1.Payment``). Like
    the API, it carries the card's BIN and last four digits, never its number or CVC."""
    rendered: dict[str, Any] = json_format.MessageToDict(
        payment(state), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return rendered
