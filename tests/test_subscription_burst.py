"""Thousands of event subscriptions opened at the same moment against a server with a small
database pool: a full pool is not an outage. Every subscribe either opens or is refused with a
deliberate, retryable status (never INTERNAL), health stays SERVING throughout, and payments and
webhooks work afterwards. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import events_pb2, events_pb2_grpc, payment_pb2
from paysim_proto.v1 import webhook_pb2 as W

from tests.support.client import rich_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.webhook_receiver import WebhookReceiver

BURST = 3000
STREAMS_PER_CONNECTION = 1000  # the server's PAYSIM_MAX_CONCURRENT_STREAMS default
CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}


@dataclass
class Outcomes:
    opened: int = 0
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused_without_retry_info: int = 0
    failed: list[str] = field(default_factory=list)
    health: list[int] = field(default_factory=list)  # every status health reported meanwhile


async def _burst(target: str, api_key: str, count: int) -> Outcomes:
    """Open ``count`` streams at once; each waits for its first message (the stream is open) or
    its error; then all are cancelled together. A health Watch runs throughout."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    channels = [
        grpc.aio.insecure_channel(target, options=options) for _ in range(-(-count // STREAMS_PER_CONNECTION) + 1)
    ]
    outcomes = Outcomes()
    release = asyncio.Event()
    request = events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW)
    metadata = (("authorization", f"Bearer {api_key}"),)

    async def subscribe(stub: events_pb2_grpc.EventServiceStub, decided: asyncio.Event) -> None:
        call = stub.SubscribePaymentEvents(request, metadata=metadata, timeout=600)
        try:
            await call.read()
            outcomes.opened += 1
            decided.set()
            await release.wait()
        except grpc.aio.AioRpcError as error:
            detail = rich_error(error)
            if error.code() in RETRYABLE:
                outcomes.refused[(error.code().name, detail.reason)] += 1
                if detail.retry_delay_seconds is None:
                    outcomes.refused_without_retry_info += 1
            else:
                outcomes.failed.append(f"{error.code().name} {detail.reason}: {error.details()}")
        finally:
            decided.set()
            call.cancel()

    async def watch_health(first: asyncio.Event) -> None:
        async for reply in health_pb2_grpc.HealthStub(channels[-1]).Watch(health_pb2.HealthCheckRequest()):
            outcomes.health.append(reply.status)
            first.set()

    watching: asyncio.Task[None] | None = None
    try:
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), 30)
        first_status = asyncio.Event()
        watching = asyncio.create_task(watch_health(first_status))
        await asyncio.wait_for(first_status.wait(), 30)
        stubs = [events_pb2_grpc.EventServiceStub(channel) for channel in channels]
        decided = [asyncio.Event() for _ in range(count)]
        tasks = [
            asyncio.create_task(subscribe(stubs[i % len(stubs)], decided[i]), name=f"subscriber-{i}")
            for i in range(count)
        ]
        await asyncio.wait_for(asyncio.gather(*(d.wait() for d in decided)), 600)
        release.set()
        await asyncio.gather(*tasks)
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        for channel in channels:
            await channel.close(None)
    return outcomes


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


def test_a_burst_of_subscriptions_exhausting_the_pool_is_no_outage(
    make_server: Callable[..., ServerHandle], receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="paysim")
    server = make_server(
        db_pool_size=2,
        # A burst this size keeps every connection busy far longer than this.
        db_pool_timeout_seconds=0.05,
        subscriptions_per_principal=BURST,
        subscriptions_per_process=BURST,
        webhook_poll_seconds=0.2,
        webhook_backoff_scale=0.001,
    )
    account = register_merchant(server.stubs())
    api = server.stubs(account.api_key)
    endpoint = api.webhooks.CreateWebhookEndpoint(
        W.CreateWebhookEndpointRequest(url=receiver.url, event_types=["payment.captured"])
    )
    outcomes = asyncio.run(_burst(server.target, account.api_key, BURST))
    assert not outcomes.failed, Counter(outcomes.failed).most_common(5)
    assert outcomes.refused_without_retry_info == 0, outcomes.refused
    assert outcomes.opened + sum(outcomes.refused.values()) == BURST
    assert outcomes.opened > 0, outcomes.refused
    # A saturated pool is not an unreachable database.
    assert outcomes.health and set(outcomes.health) == {health_pb2.HealthCheckResponse.SERVING}, outcomes.health
    unhealthy = [r.getMessage() for r in caplog.records if r.name == "paysim.health"]
    assert not unhealthy, unhealthy

    payment = api.payments.CreatePayment(payment_pb2.CreatePaymentRequest(amount_minor=500, card=CARD)).payment
    assert payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED
    hooks = receiver.wait_for(lambda got: any(r.json["data"]["object"]["id"] == payment.id for r in got), 30)
    assert endpoint.webhook_endpoint.id and hooks
