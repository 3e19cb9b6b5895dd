"""Routing through a real server: the merchant's gateway configurations decide the order, failover on
errors, timeouts and open breakers records every attempt, declines never fail over, and the gateway
that authorized a payment carries its capture, void and refunds."""

from __future__ import annotations

import re
from collections.abc import Callable

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2 as M
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import simulator_pb2 as S

from paysim.services.verification import verify_all
from tests.support.client import Stubs, expect_error, operation, outcome
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
DECLINING = P.CardInput(number="4000000000009995", exp_month=12, exp_year=2031, cvc="123")  # insufficient_funds
REFERENCES = {
    "stripe": re.compile(r"pi_\w+"),
    "paypal": re.compile(r"PAYID-[A-Z0-9]+"),
    "razorpay": re.compile(r"pay_\w+"),
    "simulator": re.compile(r"sim_\w+"),
}
ERROR = S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_ERROR)


def configure(api: Stubs, *gateways: str, **settings: str) -> None:
    for priority, gateway in enumerate(gateways, start=1):
        api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway=gateway, priority=priority, settings=settings))


def pay(api: Stubs, card: P.CardInput = CARD, **fields: object) -> P.Payment:
    payment: P.Payment = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=1_250, currency_code="USD", card=card, **fields)
    ).payment
    return payment


def trail(payment: P.Payment) -> list[tuple[str, str, str]]:
    return [(a.gateway, operation(a), outcome(a)) for a in payment.attempts]


@pytest.fixture
def api(stubs: Stubs) -> Stubs:
    return stubs.as_(register_merchant(stubs).api_key)


@pytest.mark.parametrize("gateway", ["stripe", "paypal", "razorpay", "simulator"])
def test_each_gateway_approves_declines_and_carries_the_whole_lifecycle(api: Stubs, gateway: str) -> None:
    configure(api, gateway)
    authorized = pay(api, capture_method=P.CAPTURE_METHOD_MANUAL)
    assert (authorized.status, authorized.gateway) == (P.PAYMENT_STATUS_AUTHORIZED, gateway)
    assert REFERENCES[gateway].fullmatch(authorized.attempts[0].reference), authorized.attempts[0].reference
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=authorized.id)).payment
    refunded = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=captured.id, amount_minor=250)).payment
    assert refunded.status == P.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert trail(refunded) == [(gateway, "authorize", "approved"), (gateway, "capture", "approved"),
                               (gateway, "refund", "approved")]  # fmt: skip
    voided = api.payments.VoidPayment(
        P.VoidPaymentRequest(payment_id=pay(api, capture_method=P.CAPTURE_METHOD_MANUAL).id)
    ).payment
    assert (voided.status, trail(voided)[-1]) == (P.PAYMENT_STATUS_VOIDED, (gateway, "void", "approved"))
    declined = pay(api, DECLINING)
    assert (declined.status, declined.decline.code) == (P.PAYMENT_STATUS_DECLINED, "insufficient_funds")
    assert trail(declined) == [(gateway, "authorize", "declined")]
    # Per-request overrides act on every gateway.
    forced = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=1_250, card=CARD), metadata=[("paysim-force-outcome", "decline:lost_card")]
    ).payment
    assert (forced.status, forced.decline.code, forced.gateway) == (P.PAYMENT_STATUS_DECLINED, "lost_card", gateway)


def test_an_outage_of_the_primary_fails_over_to_the_secondary_and_both_attempts_are_recorded(api: Stubs) -> None:
    configure(api, "stripe", "paypal")
    api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="stripe", mode=S.OUTAGE_MODE_ERROR))
    payment = pay(api, capture_method=P.CAPTURE_METHOD_MANUAL)
    assert (payment.status, payment.gateway) == (P.PAYMENT_STATUS_AUTHORIZED, "paypal")
    assert trail(payment) == [("stripe", "authorize", "error"), ("paypal", "authorize", "approved")]
    # Capture and refund go to the gateway that holds the authorization, even once stripe is back.
    api.simulator.ClearGatewayFaults(S.ClearGatewayFaultsRequest())
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=payment.id)).payment
    assert trail(captured)[-1] == ("paypal", "capture", "approved")
    events = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=payment.id)).events
    assert [e.type for e in events][:3] == ["payment.created", "payment.attempt_failed", "payment.authorized"]


def test_a_decline_never_fails_over(api: Stubs) -> None:
    configure(api, "stripe", "paypal")
    declined = pay(api, DECLINING)
    assert declined.status == P.PAYMENT_STATUS_DECLINED
    assert trail(declined) == [("stripe", "authorize", "declined")]


def test_a_timeout_fails_over(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    api.merchants.SetGatewayConfig(
        M.SetGatewayConfigRequest(gateway="razorpay", priority=1, settings={"timeout_ms": "100"})
    )
    api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway="stripe", priority=2))
    api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="razorpay", mode=S.OUTAGE_MODE_TIMEOUT))
    payment = pay(api)
    assert (payment.status, payment.gateway) == (P.PAYMENT_STATUS_CAPTURED, "stripe")
    assert trail(payment) == [("razorpay", "authorize", "error"), ("stripe", "authorize", "approved")]
    assert payment.attempts[0].detail.startswith("timeout: no answer within 100 ms")


def test_an_open_breaker_is_skipped_at_once(api: Stubs) -> None:
    configure(api, "stripe", "paypal")
    api.simulator.ScriptGatewayOutcomes(S.ScriptGatewayOutcomesRequest(gateway="stripe", outcomes=[ERROR] * 5))
    for _ in range(5):
        assert pay(api).gateway == "paypal"
    breakers = {b.gateway: b for b in api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).breakers}
    assert breakers["stripe"].state == S.BREAKER_STATE_OPEN
    assert breakers["paypal"].state == S.BREAKER_STATE_CLOSED and breakers["paypal"].successes == 5
    skipped = pay(api)
    assert trail(skipped) == [("stripe", "authorize", "skipped"), ("paypal", "authorize", "approved")]


def test_disabled_gateways_are_skipped_and_deleting_every_config_routes_to_the_simulator(api: Stubs) -> None:
    configure(api, "stripe", "razorpay")
    api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway="stripe", priority=1, enabled=False))
    assert pay(api).gateway == "razorpay"
    for gateway in ("stripe", "razorpay"):
        api.merchants.DeleteGatewayConfig(M.DeleteGatewayConfigRequest(gateway=gateway))
    assert pay(api).gateway == "simulator"


def test_when_every_gateway_fails_the_call_is_unavailable_with_every_attempt_on_the_payment(api: Stubs) -> None:
    configure(api, "stripe", "paypal", "razorpay")
    for gateway in ("stripe", "paypal", "razorpay"):
        api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway=gateway, mode=S.OUTAGE_MODE_ERROR))
    key = [("idempotency-key", "all-down")]
    request = P.CreatePaymentRequest(amount_minor=1_250, card=CARD)
    err = expect_error(api.payments.CreatePayment, request, metadata=key)
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "GATEWAY_UNAVAILABLE")
    assert err.metadata["gateways"] == "stripe,paypal,razorpay"
    failed = api.payments.GetPayment(P.GetPaymentRequest(payment_id=err.metadata["payment_id"])).payment
    assert [a.gateway for a in failed.attempts] == ["stripe", "paypal", "razorpay"]
    # The key was released: once a gateway is back, the same key creates the payment.
    api.simulator.ClearGatewayFaults(S.ClearGatewayFaultsRequest(gateway="paypal"))
    retried = api.payments.CreatePayment(request, metadata=key).payment
    assert (retried.status, retried.gateway) == (P.PAYMENT_STATUS_CAPTURED, "paypal")
    assert retried.id != failed.id
    replayed = api.payments.CreatePayment(request, metadata=key).payment
    assert replayed.id == retried.id


def test_payments_with_failed_attempts_replay_to_their_projection(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    configure(api, "stripe", "paypal")
    api.simulator.ScriptGatewayOutcomes(S.ScriptGatewayOutcomesRequest(gateway="stripe", outcomes=[ERROR] * 6))
    for _ in range(6):  # five fail over, the sixth skips the open breaker
        payment = pay(api, capture_method=P.CAPTURE_METHOD_MANUAL)
        api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=payment.id))
    report = server.run(verify_all(server.app.unit_of_work))
    assert report.ok, report.mismatches
    assert report.checked == 6
