"""``client.webhooks``: the endpoints paysim POSTs a merchant's payment events to, and the
deliveries it made.

An endpoint's signing secret (``whsec_…``) is in the answer of :meth:`AsyncWebhooks.create` and
of :meth:`AsyncWebhooks.rotate_secret` only; the receiver checks each delivery's
``Paysim-Signature`` header with it, using :func:`paysim_client.webhooks.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence

from paysim_proto.v1 import webhook_pb2

from paysim_client._blocking import blocking, blocking_pager
from paysim_client._generated import rpcs
from paysim_client.config import RetryPolicy
from paysim_client.pagers import AsyncPager, Page
from paysim_client.resources._base import AsyncResource, BlockingResource


def _event_types(value: Sequence[str]) -> Sequence[str]:
    # A lone string is a sequence too, of one-letter "types".
    if isinstance(value, str):
        raise TypeError("event_types is a list of event types, e.g. ['payment.captured']")
    return value


class AsyncWebhooks(AsyncResource):
    """Webhook endpoints and deliveries of the caller's merchant (an admin names the merchant)."""

    async def create(
        self,
        url: str,
        *,
        event_types: Sequence[str],
        description: str = "",
        enabled: bool | None = None,
        merchant_id: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> webhook_pb2.CreateWebhookEndpointResponse:
        """Register ``url`` (http or https) for ``event_types`` (such as ``"payment.captured"``, or
        ``["*"]`` for every type); ``enabled`` defaults to true. The answer's ``secret`` is the only
        time the signing secret is shown. A URL whose host resolves to an address the server does
        not send to raises ``InvalidArgument`` (field ``url``, reason ``TARGET_NOT_ALLOWED`` or
        ``HOST_UNRESOLVABLE``); past the endpoints a merchant may have,
        :class:`~paysim_client.errors.WebhookEndpointLimit`. Never retried after ``UNAVAILABLE``
        (a repeat would make a second endpoint): list the endpoints to see whether it was made."""
        request = webhook_pb2.CreateWebhookEndpointRequest(
            merchant_id=merchant_id,
            url=url,
            event_types=_event_types(event_types),
            description=description,
            enabled=enabled,
        )
        return await self._transport.call(rpcs.CREATE_WEBHOOK_ENDPOINT, request, timeout=timeout, retry=retry)

    async def get(
        self, webhook_endpoint_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> webhook_pb2.WebhookEndpoint:
        """One endpoint (never its secret); ``NotFound`` for another merchant's."""
        request = webhook_pb2.GetWebhookEndpointRequest(webhook_endpoint_id=webhook_endpoint_id)
        reply = await self._transport.call(rpcs.GET_WEBHOOK_ENDPOINT, request, timeout=timeout, retry=retry)
        return reply.webhook_endpoint

    def list(
        self,
        *,
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[webhook_pb2.WebhookEndpoint]:
        """The merchant's endpoints, newest first, page after page."""

        return self._listing(
            rpcs.LIST_WEBHOOK_ENDPOINTS,
            lambda token: webhook_pb2.ListWebhookEndpointsRequest(
                merchant_id=merchant_id, page_size=page_size, page_token=token
            ),
            lambda reply: Page(reply.webhook_endpoints, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def update(
        self,
        webhook_endpoint_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> webhook_pb2.WebhookEndpoint:
        """Change the fields given (the others stay as they are) and return the endpoint.

        ``event_types`` replaces the whole list. ``enabled=True`` on an endpoint paysim disabled
        after a 410 answer clears ``disabled_reason`` and sends its pending deliveries."""
        request = webhook_pb2.UpdateWebhookEndpointRequest(
            webhook_endpoint_id=webhook_endpoint_id,
            url=url,
            event_types=_event_types(event_types or ()),
            replace_event_types=event_types is not None,
            enabled=enabled,
            description=description,
        )
        reply = await self._transport.call(rpcs.UPDATE_WEBHOOK_ENDPOINT, request, timeout=timeout, retry=retry)
        return reply.webhook_endpoint

    async def delete(
        self, webhook_endpoint_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> webhook_pb2.WebhookEndpoint:
        """Delete an endpoint with its deliveries; returns it as it was."""
        request = webhook_pb2.DeleteWebhookEndpointRequest(webhook_endpoint_id=webhook_endpoint_id)
        reply = await self._transport.call(rpcs.DELETE_WEBHOOK_ENDPOINT, request, timeout=timeout, retry=retry)
        return reply.webhook_endpoint

    async def rotate_secret(
        self,
        webhook_endpoint_id: str,
        *,
        overlap_seconds: int | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> webhook_pb2.RotateWebhookSecretResponse:
        """A new signing secret, in the answer's ``secret`` only. The old one keeps signing beside
        it (two ``v1=`` in the header) for ``overlap_seconds`` (None: the server's default of 24 h;
        0 retires it at once; at most 7 days), so receivers switch without missing an event.
        Never retried after ``UNAVAILABLE``: a repeat would retire the secret you still use."""
        request = webhook_pb2.RotateWebhookSecretRequest(
            webhook_endpoint_id=webhook_endpoint_id, overlap_seconds=overlap_seconds
        )
        return await self._transport.call(rpcs.ROTATE_WEBHOOK_SECRET, request, timeout=timeout, retry=retry)

    def list_deliveries(
        self,
        *,
        webhook_endpoint_id: str = "",
        event_id: str = "",
        state: webhook_pb2.WebhookDeliveryState.ValueType = webhook_pb2.WEBHOOK_DELIVERY_STATE_UNSPECIFIED,
        merchant_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPager[webhook_pb2.WebhookDelivery]:
        """The merchant's deliveries, newest first, each with its attempts (time, HTTP status or
        error, duration); filtered by endpoint, event (``evt_…``) and ``state``
        (``WEBHOOK_DELIVERY_STATE_PENDING``, ``…_DELIVERED``, ``…_DEAD``)."""
        return self._listing(
            rpcs.LIST_WEBHOOK_DELIVERIES,
            lambda token: webhook_pb2.ListWebhookDeliveriesRequest(
                merchant_id=merchant_id,
                webhook_endpoint_id=webhook_endpoint_id,
                event_id=event_id,
                state=state,
                page_size=page_size,
                page_token=token,
            ),
            lambda reply: Page(reply.webhook_deliveries, reply.next_page_token),
            page_token=page_token,
            timeout=timeout,
            retry=retry,
        )

    async def redeliver(
        self, webhook_delivery_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> webhook_pb2.WebhookDelivery:
        """Send a delivery's event again, as a new delivery (same event id, ``redelivery_of`` set),
        whatever the first one's state; :class:`~paysim_client.errors.WebhookEndpointDisabled`
        while its endpoint is disabled."""
        request = webhook_pb2.RedeliverWebhookRequest(webhook_delivery_id=webhook_delivery_id)
        reply = await self._transport.call(rpcs.REDELIVER_WEBHOOK, request, timeout=timeout, retry=retry)
        return reply.webhook_delivery


class Webhooks(BlockingResource[AsyncWebhooks]):
    """Webhook endpoints and deliveries (blocking); see :class:`AsyncWebhooks`."""

    create = blocking(AsyncWebhooks.create)
    get = blocking(AsyncWebhooks.get)
    list = blocking_pager(AsyncWebhooks.list)
    update = blocking(AsyncWebhooks.update)
    delete = blocking(AsyncWebhooks.delete)
    rotate_secret = blocking(AsyncWebhooks.rotate_secret)
    list_deliveries = blocking_pager(AsyncWebhooks.list_deliveries)
    redeliver = blocking(AsyncWebhooks.redeliver)
