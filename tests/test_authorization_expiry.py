"""Authorization expiry through a real server: an uncaptured authorization is voided 7 days after
the payment was created, by the housekeeping round or by the capture that finds it late, with a
``payment.authorization_expired`` event, a webhook and a stable refusal; the SDK raises its class."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import grpc
from paysim_client import Client, errors
from paysim_client.types import CaptureMethod, CardInput
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from paysim.services.verification import verify_all
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.webhook_receiver import WebhookReceiver

VALIDITY = timedelta(days=7)
VISA = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


def authorize(api: Stubs) -> P.Payment:
    request = P.CreatePaymentRequest(
        amount_minor=2500, currency_code="USD", card=VISA, capture_method=P.CAPTURE_METHOD_MANUAL
    )
    payment: P.Payment = api.payments.CreatePayment(request).payment
    assert payment.status == P.PAYMENT_STATUS_AUTHORIZED
    return payment


def get(api: Stubs, payment_id: str) -> P.Payment:
    payment: P.Payment = api.payments.GetPayment(P.GetPaymentRequest(payment_id=payment_id)).payment
    return payment


def events(api: Stubs, payment_id: str) -> list[P.PaymentEvent]:
    return list(api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment_id)).events)


def test_the_sweep_expires_uncaptured_authorizations_with_an_event_and_a_webhook(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server(webhook_poll_seconds=0.2)
    receiver = WebhookReceiver()
    try:
        api = server.stubs(register_merchant(server.stubs()).api_key)
        api.webhooks.CreateWebhookEndpoint(
            W.CreateWebhookEndpointRequest(url=receiver.url, event_types=["payment.authorization_expired"])
        )
        due, captured = authorize(api), authorize(api)
        api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=captured.id))
        # The server's clock is real time plus an offset: a margin of minutes, not seconds, keeps a
        # slow run from crossing the boundary on its own.
        server.clock.advance(VALIDITY - timedelta(minutes=5))
        server.run(server.server.maintenance.run_once())
        assert get(api, due.id).status == P.PAYMENT_STATUS_AUTHORIZED  # five minutes to go
        server.clock.advance(timedelta(minutes=5))
        server.run(server.server.maintenance.run_once())
        expired = get(api, due.id)
        assert (expired.status, expired.failure_reason) == (P.PAYMENT_STATUS_VOIDED, "authorization_expired")
        last = events(api, due.id)[-1]
        assert last.type == "payment.authorization_expired"
        assert last.payment_authorization_expired.reason == "authorization_expired"
        # The event carries the time it happened on the server's clock: seven days on.
        assert last.create_time.ToDatetime() - expired.create_time.ToDatetime() >= VALIDITY
        assert get(api, captured.id).status == P.PAYMENT_STATUS_CAPTURED  # a captured one is left alone
        got = receiver.wait_count(1)
        assert [(r.json["type"], r.event_id) for r in got] == [("payment.authorization_expired", last.id)]
        err = expect_error(api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=due.id))
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "AUTHORIZATION_EXPIRED")
        assert err.metadata["payment_id"] == due.id
        assert server.run(server.app.payments.expire_authorizations()) == 0  # nothing left to do
        assert server.run(verify_all(server.app.unit_of_work)).ok
    finally:
        receiver.stop()


def test_a_late_capture_is_refused_and_expires_the_authorization_at_once(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    payment = authorize(api)
    server.clock.advance(VALIDITY)
    # No sweep ran: the capture is refused and the payment is voided on the spot.
    err = expect_error(api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=payment.id))
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "AUTHORIZATION_EXPIRED")
    after = get(api, payment.id)
    assert (after.status, after.failure_reason) == (P.PAYMENT_STATUS_VOIDED, "authorization_expired")
    assert [e.type for e in events(api, payment.id)][-1] == "payment.authorization_expired"
    # Voiding it too is refused: it is voided already.
    err = expect_error(api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=payment.id))
    assert err.reason == "PAYMENT_NOT_VOIDABLE"
    assert server.run(verify_all(server.app.unit_of_work)).ok


def test_the_sdk_raises_authorization_expired(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    card = CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")
    with Client.connect(server.target, api_key=account.api_key) as client:
        payment = client.payments.create(
            amount_minor=700, card=card, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL
        )
        server.clock.advance(VALIDITY + timedelta(hours=1))
        try:
            client.payments.capture(payment.id)
        except errors.AuthorizationExpired as caught:
            assert caught.metadata["payment_id"] == payment.id and caught.request_id
        else:
            raise AssertionError("a capture after expiry succeeded")
