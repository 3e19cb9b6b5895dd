"""The last of a clock payment's times on its clock, through a real server on both backends:
webhook retries fall due on the clock (each attempt at the clock's time, the retries on the
documented schedule counted on it, in time order with the clock's other transitions, up to the
give-up) and never with real time; an idempotency key used for a request about a clock payment
expires when the clock passes its first use plus the TTL, and never with real time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from paysim.store.repositories.idempotency import StoredKey
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.streams import wait_for
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_clock_objects import START, advance, card, get, new_clock, pay

CAPTURED, EXPIRED = "payment.captured", "payment.three_ds_challenge_expired"
MINUTE = timedelta(minutes=1)


def deliveries(api: Stubs, event_id: str) -> list[W.WebhookDelivery]:
    request = W.ListWebhookDeliveriesRequest(event_id=event_id)
    return list(api.webhooks.ListWebhookDeliveries(request).webhook_deliveries)


def event_id(api: Stubs, payment_id: str, event_type: str) -> str:
    events = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment_id)).events
    (found,) = [e.id for e in events if e.type == event_type]
    return found


def attempt_times(delivery: W.WebhookDelivery) -> list[datetime]:
    return [a.time.ToDatetime(UTC) for a in delivery.attempts]


def test_webhook_retries_fall_due_on_the_clock_in_time_order_up_to_the_give_up(
    make_server: Callable[..., ServerHandle],
) -> None:
    # On real time this schedule is compressed a thousandfold and cut to four attempts: a
    # delivery on real time gives up within seconds, one on the clock only as the clock moves.
    server = make_server(webhook_backoff_scale=0.001, webhook_max_attempts=4, webhook_poll_seconds=0.2)
    receiver = WebhookReceiver(default_status=500)
    try:
        api = server.stubs(register_merchant(server.stubs()).api_key)
        api.webhooks.CreateWebhookEndpoint(
            W.CreateWebhookEndpointRequest(url=receiver.url, event_types=[CAPTURED, EXPIRED])
        )
        clock = new_clock(api)
        paid = pay(api, "4242424242424242", clock.id)
        challenged = pay(api, "4000002500003155", clock.id)  # its challenge expires at +15 min
        on_real_time = pay(api, "4242424242424242")
        captured, real_time = event_id(api, paid.id, CAPTURED), event_id(api, on_real_time.id, CAPTURED)

        # Real time: the payment on real time is tried four times and given up on; the one on the
        # clock was tried once, at the clock's time, and waits for the clock.
        receiver.wait_for(lambda got: sum(r.event_id == real_time for r in got) == 4)
        wait_for(lambda: deliveries(api, real_time)[0].state == W.WEBHOOK_DELIVERY_STATE_DEAD, what="given up")
        wait_for(lambda: len(deliveries(api, captured)[0].attempts) == 1, what="the first attempt recorded")
        (first,) = deliveries(api, captured)
        assert (first.state, first.attempt_count, attempt_times(first)) == (
            W.WEBHOOK_DELIVERY_STATE_PENDING,
            1,
            [START],
        )
        assert first.next_attempt_time.ToDatetime(UTC) == START + MINUTE  # the unscaled schedule
        assert [r.event_id for r in receiver.received].count(captured) == 1

        advance(api, clock.id, START + timedelta(seconds=59))  # a second short: nothing is due
        assert deliveries(api, captured)[0].attempt_count == 1
        advance(api, clock.id, START + MINUTE)  # the advance makes the attempt it reaches
        (second,) = deliveries(api, captured)
        assert attempt_times(second) == [START, START + MINUTE]
        assert second.next_attempt_time.ToDatetime(UTC) == START + 6 * MINUTE

        before = len(receiver.received)
        advance(api, clock.id, START + timedelta(hours=1))
        # In the clock's time order whichever kind each is: the challenge expires at +15 min, and
        # its event's delivery is tried then, retried at +16 and +21 min, and given up at +51.
        sent = [(r.event_id, int(r.headers["paysim-attempt"])) for r in receiver.received[before:]]
        expired = event_id(api, challenged.id, EXPIRED)
        assert sent == [(captured, 3), (expired, 1), (expired, 2), (expired, 3), (captured, 4), (expired, 4)]
        (gave_up,) = deliveries(api, captured)
        assert gave_up.state == W.WEBHOOK_DELIVERY_STATE_DEAD and not gave_up.HasField("next_attempt_time")
        assert attempt_times(gave_up) == [START, START + MINUTE, START + 6 * MINUTE, START + 36 * MINUTE]
        (expiry,) = deliveries(api, expired)
        assert expiry.state == W.WEBHOOK_DELIVERY_STATE_DEAD
        assert attempt_times(expiry) == [START + m * MINUTE for m in (15, 16, 21, 51)]
        assert all(a.http_status == 500 for a in (*gave_up.attempts, *expiry.attempts))
        assert get(api, challenged.id).status == P.PAYMENT_STATUS_FAILED
    finally:
        receiver.stop()


def test_a_delivery_on_a_clock_that_succeeds_is_made_at_once_at_the_clocks_time(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server(webhook_poll_seconds=0.2)
    receiver = WebhookReceiver()
    try:
        api = server.stubs(register_merchant(server.stubs()).api_key)
        api.webhooks.CreateWebhookEndpoint(W.CreateWebhookEndpointRequest(url=receiver.url, event_types=[CAPTURED]))
        # A clock ahead of real time: its deliveries are due by its time, not the server's.
        ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        clock = new_clock(api, ahead)
        paid = pay(api, "4242424242424242", clock.id)
        (hook,) = receiver.wait_count(1)
        assert hook.event_id == event_id(api, paid.id, CAPTURED)
        assert hook.json["created"] == int(ahead.timestamp())
        wait_for(lambda: deliveries(api, hook.event_id)[0].state == W.WEBHOOK_DELIVERY_STATE_DELIVERED, what="done")
        assert attempt_times(deliveries(api, hook.event_id)[0]) == [ahead]
    finally:
        receiver.stop()


def _create(api: Stubs, key: str, clock_id: str = "") -> P.Payment:
    request = P.CreatePaymentRequest(
        amount_minor=1500, currency_code="USD", card=card("4242424242424242"), test_clock_id=clock_id
    )
    payment: P.Payment = api.payments.CreatePayment(request, metadata=[("idempotency-key", key)]).payment
    return payment


def test_an_idempotency_key_about_a_clock_payment_expires_on_the_clock(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()  # the default lifetime: 24 hours
    shop = register_merchant(server.stubs())
    api = server.stubs(shop.api_key)

    def stored(key: str) -> StoredKey | None:
        async def read() -> StoredKey | None:
            async with server.app.unit_of_work() as uow:
                return await uow.idempotency.get(shop.merchant_id, key)

        return server.run(read())

    clock = new_clock(api)
    first = _create(api, "order-1", clock.id)
    assert first.create_time.ToDatetime(UTC) == START
    # A key of an operation on a payment on the clock lives on it too.
    held = pay(api, "4242424242424242", clock.id, capture_method=P.CAPTURE_METHOD_MANUAL)
    capture = P.CapturePaymentRequest(payment_id=held.id)
    captured = api.payments.CapturePayment(capture, metadata=[("idempotency-key", "capture-1")]).payment
    assert captured.status == P.PAYMENT_STATUS_CAPTURED
    key = stored("order-1")
    assert key is not None and (key.test_clock_id, key.expires_at) == (clock.id, START + timedelta(hours=24))
    on_real_time = _create(api, "order-2")

    # A day and more of real time, with a housekeeping round that prunes expired keys: the key on
    # real time is free again, the one on the clock still replays.
    server.clock.advance(timedelta(hours=25))
    server.run(server.app.payments.prune_idempotency_keys())
    assert _create(api, "order-2").id != on_real_time.id
    assert _create(api, "order-1", clock.id).id == first.id
    replayed = api.payments.CapturePayment(capture, metadata=[("idempotency-key", "capture-1")]).payment
    assert replayed == captured

    advance(api, clock.id, START + timedelta(hours=23, minutes=59))
    server.run(server.app.payments.prune_idempotency_keys())
    assert _create(api, "order-1", clock.id).id == first.id  # a minute to go on the clock
    advance(api, clock.id, START + timedelta(hours=24))
    again = _create(api, "order-1", clock.id)  # the clock passed its expiry: a new payment
    assert again.id != first.id and again.create_time.ToDatetime(UTC) == START + timedelta(hours=24)
    assert _create(api, "order-1", clock.id).id == again.id  # and the key is the new payment's now
    # The capture's key is free again too: the request runs afresh, on a payment captured already.
    err = expect_error(api.payments.CapturePayment, capture, metadata=[("idempotency-key", "capture-1")])
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENT_NOT_CAPTURABLE")

    # Pruned on the clock's time too, once the clock passes the new key's expiry.
    server.run(server.app.payments.prune_idempotency_keys())
    assert stored("order-1") is not None
    advance(api, clock.id, START + timedelta(hours=48))
    server.run(server.app.payments.prune_idempotency_keys())
    assert stored("order-1") is None
