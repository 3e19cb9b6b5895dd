"""Payment methods besides cards through a real server: UPI at Razorpay (test VPAs), PayPal wallets,
routing only to gateways that take the method, and field errors for bad method input."""

from __future__ import annotations

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2 as M
from paysim_proto.v1 import payment_pb2 as P

from paysim.gateways.razorpay_like import FAILURE_VPA_DECLINE
from tests.support.client import Stubs, expect_error, operation, outcome
from tests.support.factories import register_merchant

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")


@pytest.fixture
def api(stubs: Stubs) -> Stubs:
    return stubs.as_(register_merchant(stubs).api_key)


def configure(api: Stubs, *gateways: str) -> None:
    for priority, gateway in enumerate(gateways, start=1):
        api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway=gateway, priority=priority))


def upi(api: Stubs, vpa: str, amount: int = 49_900, **fields: object) -> P.Payment:
    request = P.CreatePaymentRequest(amount_minor=amount, currency_code="INR", upi=P.UpiInput(vpa=vpa), **fields)
    payment: P.Payment = api.payments.CreatePayment(request).payment
    return payment


def test_upi_goes_to_the_gateway_that_takes_it_and_test_vpas_decide(api: Stubs) -> None:
    configure(api, "stripe", "razorpay")  # stripe is tried first for cards, never for UPI
    paid = upi(api, "success@razorpay")
    assert (paid.status, paid.gateway) == (P.PAYMENT_STATUS_CAPTURED, "razorpay")
    assert (paid.method_type, paid.method_account) == (P.PAYMENT_METHOD_TYPE_UPI, "success@razorpay")
    assert not paid.HasField("card")
    assert [(a.gateway, outcome(a)) for a in paid.attempts] == [("razorpay", "approved")]
    assert paid.attempts[0].reference.startswith("pay_")
    failed = upi(api, "failure@razorpay")
    assert (failed.status, failed.decline.code) == (P.PAYMENT_STATUS_DECLINED, FAILURE_VPA_DECLINE)
    unknown = upi(api, "nobody@okaxis")
    assert unknown.status == P.PAYMENT_STATUS_DECLINED
    # A card still goes to the first gateway.
    card = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=500, card=CARD)).payment
    assert card.gateway == "stripe" and card.method_type == P.PAYMENT_METHOD_TYPE_CARD


def test_a_upi_payment_is_captured_later_and_refunded_at_razorpay(api: Stubs) -> None:
    configure(api, "razorpay")
    authorized = upi(api, "success@razorpay", capture_method=P.CAPTURE_METHOD_MANUAL)
    assert authorized.status == P.PAYMENT_STATUS_AUTHORIZED
    api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=authorized.id))
    refunded = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=authorized.id)).payment
    assert refunded.status == P.PAYMENT_STATUS_REFUNDED
    assert [(a.gateway, operation(a)) for a in refunded.attempts] == [
        ("razorpay", "authorize"),
        ("razorpay", "capture"),
        ("razorpay", "refund"),
    ]


def test_paypal_wallet_payments_approve_and_magic_amounts_decline_them(api: Stubs) -> None:
    configure(api, "razorpay", "paypal")
    wallet = P.PayPalWalletInput(email="buyer@example.test")
    paid = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=2_000, paypal_wallet=wallet)).payment
    assert (paid.status, paid.gateway, paid.method_type) == (
        P.PAYMENT_STATUS_CAPTURED,
        "paypal",
        P.PAYMENT_METHOD_TYPE_PAYPAL_WALLET,
    )
    assert paid.method_account == "buyer@example.test"
    assert paid.attempts[0].reference.startswith("PAYID-")
    # 1,000,000 + the last four digits of the insufficient-funds card.
    declined = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=1_009_995, paypal_wallet=wallet)).payment
    assert (declined.status, declined.decline.code) == (P.PAYMENT_STATUS_DECLINED, "insufficient_funds")


def test_a_method_no_configured_gateway_takes_is_a_failed_precondition(api: Stubs) -> None:
    err = expect_error(
        api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=500, upi=P.UpiInput(vpa="success@razorpay"))
    )
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENT_METHOD_NOT_AVAILABLE")
    assert err.metadata["method_type"] == "upi"
    configure(api, "stripe")
    wallet = P.PayPalWalletInput(email="buyer@example.test")
    err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=500, paypal_wallet=wallet))
    assert err.reason == "PAYMENT_METHOD_NOT_AVAILABLE"
    assert list(api.payments.ListPayments(P.ListPaymentsRequest()).payments) == []


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"upi": P.UpiInput(vpa="")}, "upi.vpa"),
        ({"upi": P.UpiInput(vpa="no-at-sign")}, "upi.vpa"),
        ({"paypal_wallet": P.PayPalWalletInput(email="not an email")}, "paypal_wallet.email"),
    ],
)
def test_bad_method_input_is_a_field_error(api: Stubs, request_fields: dict[str, object], field: str) -> None:
    configure(api, "razorpay", "paypal")
    err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=500, **request_fields))
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT
    assert field in err.field_violations, err.field_violations
