"""paysim.v1.WebhookService."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from paysim_proto.v1 import webhook_pb2, webhook_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.api.pages import next_token, read_page_request
from paysim.contract import webhook_messages
from paysim.domain.errors import FieldViolation, InvalidArgument
from paysim.services.webhooks import WebhookService

Context = grpc.aio.ServicerContext[Any, Any]


class WebhookServicer(webhook_pb2_grpc.WebhookServiceServicer):
    def __init__(self, webhooks: WebhookService) -> None:
        self._webhooks = webhooks

    async def CreateWebhookEndpoint(
        self, request: webhook_pb2.CreateWebhookEndpointRequest, context: Context
    ) -> webhook_pb2.CreateWebhookEndpointResponse:
        endpoint, secret = await self._webhooks.create(
            require_principal(),
            request.merchant_id,
            url=request.url,
            event_types=list(request.event_types),
            description=request.description,
            enabled=request.enabled if request.HasField("enabled") else True,
        )
        return webhook_pb2.CreateWebhookEndpointResponse(
            webhook_endpoint=webhook_messages.endpoint(endpoint), secret=secret
        )

    async def GetWebhookEndpoint(
        self, request: webhook_pb2.GetWebhookEndpointRequest, context: Context
    ) -> webhook_pb2.GetWebhookEndpointResponse:
        endpoint = await self._webhooks.get(require_principal(), request.webhook_endpoint_id)
        return webhook_pb2.GetWebhookEndpointResponse(webhook_endpoint=webhook_messages.endpoint(endpoint))

    async def ListWebhookEndpoints(
        self, request: webhook_pb2.ListWebhookEndpointsRequest, context: Context
    ) -> webhook_pb2.ListWebhookEndpointsResponse:
        principal = require_principal()
        query, filters = "webhook_endpoints", (request.merchant_id,)
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._webhooks.list_page(principal, request.merchant_id, cursor, limit)
        return webhook_pb2.ListWebhookEndpointsResponse(
            webhook_endpoints=[webhook_messages.endpoint(e) for e in rows],
            next_page_token=next_token(query, filters, rows, more),
        )

    async def UpdateWebhookEndpoint(
        self, request: webhook_pb2.UpdateWebhookEndpointRequest, context: Context
    ) -> webhook_pb2.UpdateWebhookEndpointResponse:
        endpoint = await self._webhooks.update(
            require_principal(),
            request.webhook_endpoint_id,
            url=request.url if request.HasField("url") else None,
            event_types=list(request.event_types) if request.replace_event_types else None,
            enabled=request.enabled if request.HasField("enabled") else None,
            description=request.description if request.HasField("description") else None,
        )
        return webhook_pb2.UpdateWebhookEndpointResponse(webhook_endpoint=webhook_messages.endpoint(endpoint))

    async def DeleteWebhookEndpoint(
        self, request: webhook_pb2.DeleteWebhookEndpointRequest, context: Context
    ) -> webhook_pb2.DeleteWebhookEndpointResponse:
        endpoint = await self._webhooks.delete(require_principal(), request.webhook_endpoint_id)
        return webhook_pb2.DeleteWebhookEndpointResponse(webhook_endpoint=webhook_messages.endpoint(endpoint))

    async def RotateWebhookSecret(
        self, request: webhook_pb2.RotateWebhookSecretRequest, context: Context
    ) -> webhook_pb2.RotateWebhookSecretResponse:
        overlap = None
        if request.HasField("overlap_seconds"):
            if not 0 <= request.overlap_seconds <= 10**9:
                raise InvalidArgument([FieldViolation("overlap_seconds", "is out of range", "OUT_OF_RANGE")])
            overlap = timedelta(seconds=request.overlap_seconds)
        endpoint, secret = await self._webhooks.rotate_secret(require_principal(), request.webhook_endpoint_id, overlap)
        return webhook_pb2.RotateWebhookSecretResponse(
            webhook_endpoint=webhook_messages.endpoint(endpoint), secret=secret
        )

    async def ListWebhookDeliveries(
        self, request: webhook_pb2.ListWebhookDeliveriesRequest, context: Context
    ) -> webhook_pb2.ListWebhookDeliveriesResponse:
        principal = require_principal()
        unspecified = webhook_pb2.WEBHOOK_DELIVERY_STATE_UNSPECIFIED
        if request.state != unspecified and request.state not in webhook_messages.STATE_FROM_PROTO:
            raise InvalidArgument([FieldViolation("state", f"unknown state {request.state}", "INVALID_STATE")])
        query = "webhook_deliveries"
        filters = (request.merchant_id, request.webhook_endpoint_id, request.event_id, int(request.state))
        cursor, limit = read_page_request(query, filters, request.page_size, request.page_token)
        rows, more = await self._webhooks.list_deliveries(
            principal,
            request.merchant_id,
            endpoint_id=request.webhook_endpoint_id,
            event_id=request.event_id,
            state=webhook_messages.STATE_FROM_PROTO.get(request.state),
            cursor=cursor,
            limit=limit,
        )
        return webhook_pb2.ListWebhookDeliveriesResponse(
            webhook_deliveries=[webhook_messages.delivery(d) for d in rows],
            next_page_token=next_token(query, filters, rows, more),
        )

    async def RedeliverWebhook(
        self, request: webhook_pb2.RedeliverWebhookRequest, context: Context
    ) -> webhook_pb2.RedeliverWebhookResponse:
        delivery = await self._webhooks.redeliver(require_principal(), request.webhook_delivery_id)
        return webhook_pb2.RedeliverWebhookResponse(webhook_delivery=webhook_messages.delivery(delivery))
