"""Stripe's amount rules through a real server: the smallest charge per currency, whole tens in
the three-decimal currencies, and currency codes in lower case."""

from __future__ import annotations

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2, payment_pb2, threeds_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import PASSWORD, MerchantAccount, register_merchant, unique, unique_email

P = payment_pb2
CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


@pytest.fixture(scope="module")
def server_stubs(server) -> Stubs:  # type: ignore[no-untyped-def]
    return server.stubs()


@pytest.fixture(scope="module")
def shop(server_stubs: Stubs) -> MerchantAccount:
    return register_merchant(server_stubs)


@pytest.fixture
def api(server_stubs: Stubs, shop: MerchantAccount) -> Stubs:
    return server_stubs.as_(shop.api_key)


def request(amount: int, currency: str) -> P.CreatePaymentRequest:
    return P.CreatePaymentRequest(amount_minor=amount, currency_code=currency, card=CARD)


@pytest.mark.parametrize(
    ("currency", "minimum", "shown"),
    [("USD", 50, "0.50 USD"), ("GBP", 30, "0.30 GBP"), ("JPY", 50, "50 JPY"), ("HKD", 400, "4.00 HKD")],
)
def test_a_charge_below_the_currencys_minimum_is_refused(api: Stubs, currency: str, minimum: int, shown: str) -> None:
    err = expect_error(api.payments.CreatePayment, request(minimum - 1, currency))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.reason == "INVALID_ARGUMENT"
    assert err.violation_reasons == {"amount_minor": "AMOUNT_BELOW_MINIMUM"}
    assert shown in err.message
    payment = api.payments.CreatePayment(request(minimum, currency)).payment
    assert (payment.amount_minor, payment.status) == (minimum, P.PAYMENT_STATUS_CAPTURED)


def test_the_merchants_default_currency_sets_the_minimum(api: Stubs) -> None:
    err = expect_error(api.payments.CreatePayment, request(49, ""))
    assert err.violation_reasons == {"amount_minor": "AMOUNT_BELOW_MINIMUM"} and "0.50 USD" in err.message


@pytest.mark.parametrize("currency", ["BHD", "JOD", "KWD", "OMR", "TND"])
def test_three_decimal_amounts_must_end_in_zero(api: Stubs, currency: str) -> None:
    err = expect_error(api.payments.CreatePayment, request(1_005, currency))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violation_reasons == {"amount_minor": "AMOUNT_NOT_MULTIPLE_OF_TEN"}
    assert api.payments.CreatePayment(request(1_010, currency)).payment.amount_minor == 1_010


def test_a_currency_without_a_listed_minimum_takes_any_positive_amount(api: Stubs) -> None:
    assert api.payments.CreatePayment(request(1, "CLP")).payment.amount_minor == 1


def test_a_merchant_registers_with_a_lower_case_currency(server_stubs: Stubs) -> None:
    reply = server_stubs.as_(None).merchants.RegisterMerchant(
        merchant_pb2.RegisterMerchantRequest(
            name=unique("Yen Shop"),
            owner_email=unique_email("yen"),
            owner_password=PASSWORD,
            default_currency_code="jpy",
        )
    )
    assert reply.merchant.default_currency_code == "JPY"


def test_lower_case_currency_codes_are_normalised(server_stubs: Stubs, api: Stubs, shop: MerchantAccount) -> None:
    payment = api.payments.CreatePayment(request(1_000, "eur")).payment
    assert payment.currency_code == "EUR"
    assert expect_error(api.payments.CreatePayment, request(1_000, "xyz")).violation_reasons == {
        "currency_code": "UNKNOWN_CURRENCY"
    }
    # Not folded outside ASCII: "ﬀ" would otherwise become a code of its own.
    assert "currency_code" in expect_error(api.payments.CreatePayment, request(1_000, "uﬀ")).field_violations
    owner = server_stubs.as_(shop.access_token)
    updated = owner.merchants.UpdateMerchant(merchant_pb2.UpdateMerchantRequest(default_currency_code="gbp"))
    assert updated.merchant.default_currency_code == "GBP"
    assert api.payments.CreatePayment(request(30, "")).payment.currency_code == "GBP"
    owner.merchants.UpdateMerchant(merchant_pb2.UpdateMerchantRequest(default_currency_code="usd"))
    policy = owner.threeds.SetThreeDSPolicy(
        threeds_pb2.SetThreeDSPolicyRequest(
            mode=threeds_pb2.THREE_DS_POLICY_MODE_ABOVE_AMOUNT,
            thresholds=[threeds_pb2.ThreeDSThreshold(currency_code="jpy", amount_minor=10**9)],
        )
    )
    assert [t.currency_code for t in policy.policy.thresholds] == ["JPY"]
