"""Per-request simulation overrides through metadata: force an outcome or add latency to one call."""

from __future__ import annotations

import grpc
import pytest
from paysim_proto.v1 import payment_pb2 as P

from tests.support.client import Stubs, expect_error, outcome
from tests.support.factories import register_merchant

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
DECLINING = P.CardInput(number="4000000000000002", exp_month=12, exp_year=2031, cvc="123")


@pytest.fixture
def api(stubs: Stubs) -> Stubs:
    return stubs.as_(register_merchant(stubs).api_key)


def create(api: Stubs, card: P.CardInput, *metadata: tuple[str, str]) -> P.Payment:
    reply = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=500, card=card), metadata=list(metadata))
    payment: P.Payment = reply.payment
    return payment


def test_forced_outcomes_target_one_payment(api: Stubs) -> None:
    declined = create(api, CARD, ("paysim-force-outcome", "decline:insufficient_funds"))
    assert (declined.status, declined.decline.code) == (P.PAYMENT_STATUS_DECLINED, "insufficient_funds")
    assert create(api, CARD, ("paysim-force-outcome", "decline")).decline.code == "generic_decline"
    approved = create(api, DECLINING, ("paysim-force-outcome", "approve"))
    assert approved.status == P.PAYMENT_STATUS_CAPTURED
    # A forced gateway error leaves no gateway that answered: UNAVAILABLE, with the failed payment
    # and its attempt recorded.
    err = expect_error(
        api.payments.CreatePayment,
        P.CreatePaymentRequest(amount_minor=500, card=CARD),
        metadata=[("paysim-force-outcome", "error")],
    )
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "GATEWAY_UNAVAILABLE")
    assert err.retry_delay_seconds is not None
    failed = api.payments.GetPayment(P.GetPaymentRequest(payment_id=err.metadata["payment_id"])).payment
    assert (failed.status, failed.failure_reason) == (P.PAYMENT_STATUS_FAILED, "no_gateway_available")
    assert [(a.gateway, outcome(a)) for a in failed.attempts] == [("simulator", "error")]
    # The next payment, without the override, behaves as its card says.
    assert create(api, CARD).status == P.PAYMENT_STATUS_CAPTURED
    assert create(api, DECLINING).status == P.PAYMENT_STATUS_DECLINED


def test_added_latency_is_recorded_on_the_attempt(api: Stubs) -> None:
    slow = create(api, CARD, ("paysim-latency-ms", "150"))
    assert slow.status == P.PAYMENT_STATUS_CAPTURED
    assert slow.attempts[0].latency_ms >= 150


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("paysim-force-outcome", "maybe"),
        ("paysim-force-outcome", "decline:not_a_code"),
        ("paysim-force-outcome", "error:lost_card"),
        ("paysim-latency-ms", "-1"),
        ("paysim-latency-ms", "30001"),
        ("paysim-latency-ms", "soon"),
    ],
)
def test_bad_overrides_are_field_errors(api: Stubs, header: str, value: str) -> None:
    err = expect_error(
        api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=500, card=CARD), metadata=[(header, value)]
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and header in err.field_violations
