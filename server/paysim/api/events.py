"""paysim.v1.EventService."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from contextlib import aclosing
from typing import Any

import grpc
from paysim_proto.v1 import events_pb2, events_pb2_grpc

from paysim.api.call_context import require_principal
from paysim.contract.event_messages import payment_event
from paysim.contract.timestamps import now_timestamp
from paysim.domain import event_codec
from paysim.domain.validation import Violations
from paysim.services.subscriptions import Heartbeat, Item, Start, SubscribeRequest, Subscription, SubscriptionService
from paysim.store.event_log import LoggedEvent

Context = grpc.aio.ServicerContext[Any, Any]
Response = events_pb2.SubscribePaymentEventsResponse

_START = {
    events_pb2.STREAM_START_UNSPECIFIED: Start.UNSPECIFIED,
    events_pb2.STREAM_START_NOW: Start.NOW,
    events_pb2.STREAM_START_AFTER_SEQ: Start.AFTER_SEQ,
}
# Every stream that receives an event sends the same message: built once, not once per stream.
_RENDERED_EVENTS = 4096


def _event_message(e: LoggedEvent) -> events_pb2.SubscribePaymentEventsResponse:
    return events_pb2.SubscribePaymentEventsResponse(
        seq=e.seq,
        event=payment_event(
            event_id=e.id,
            payment_id=e.payment_id,
            merchant_id=e.merchant_id,
            payment_version=e.version,
            sequence=e.seq,
            created_at=e.created_at,
            event=event_codec.from_stored(e.type, e.data(), e.created_at),
        ),
    )


class EventServicer(events_pb2_grpc.EventServiceServicer):
    def __init__(self, subscriptions: SubscriptionService) -> None:
        self._subscriptions = subscriptions
        self._rendered: OrderedDict[int, events_pb2.SubscribePaymentEventsResponse] = OrderedDict()

    def _message(self, item: Item) -> events_pb2.SubscribePaymentEventsResponse:
        if isinstance(item, Heartbeat):
            return events_pb2.SubscribePaymentEventsResponse(
                seq=item.position, heartbeat=events_pb2.StreamHeartbeat(server_time=now_timestamp())
            )
        message = self._rendered.get(item.seq)
        if message is None:
            message = _event_message(item)
            self._rendered[item.seq] = message
            if len(self._rendered) > _RENDERED_EVENTS:
                self._rendered.popitem(last=False)
        return message

    # The writer form (context.write) rather than a generator: a client that stops reading blocks
    # the write on HTTP/2 flow control, where no check of the stream's own can run, and only the
    # code awaiting the write can interrupt it and end the call with the stream's status.
    async def SubscribePaymentEvents(  # type: ignore[override]
        self, request: events_pb2.SubscribePaymentEventsRequest, context: Context
    ) -> None:
        principal = require_principal()
        if request.start not in _START:
            v = Violations()
            v.add("start", "must be a StreamStart value", "INVALID_ENUM")
            v.raise_if_any()
        subscription = await self._subscriptions.open(
            principal,
            SubscribeRequest(
                start=_START[request.start],
                after_seq=request.after_seq,
                payment_id=request.payment_id,
                merchant_id=request.merchant_id,
                event_types=tuple(request.event_types),
            ),
        )
        task = asyncio.current_task()
        assert task is not None
        try:
            async with aclosing(subscription.items()) as items:
                async for item in items:
                    await _write(context, subscription, task, self._message(item))
        finally:
            subscription.close()


async def _write(
    context: Context,
    subscription: Subscription,
    task: asyncio.Task[Any],
    message: events_pb2.SubscribePaymentEventsResponse,
) -> None:
    subscription.interrupt = task.cancel
    try:
        await context.write(message)
    except asyncio.CancelledError:
        ending = subscription.ending()
        # Ours alone (the client did not cancel too): end the call with the stream's status.
        if ending is not None and task.uncancel() == 0:
            raise ending from None
        raise
    except grpc.aio.InternalError:
        # The send failed because the call is over: the client went away meanwhile.
        raise asyncio.CancelledError from None
    finally:
        subscription.interrupt = None
