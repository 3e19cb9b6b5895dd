"""Card details through a real server: where a test card was issued and how it is funded, and a
merchant's choice for valid card numbers outside the test catalogue."""

from __future__ import annotations

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2, payment_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import MerchantAccount, register_merchant

P = payment_pb2
M = merchant_pb2
OUTSIDE = "4111111111111111"  # Luhn-valid, a real-looking Visa number, not a test card


@pytest.fixture(scope="module")
def server_stubs(server) -> Stubs:  # type: ignore[no-untyped-def]
    return server.stubs()


@pytest.fixture
def shop(server_stubs: Stubs) -> MerchantAccount:
    return register_merchant(server_stubs)


def pay(api: Stubs, number: str) -> P.Payment:
    card = P.CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")
    payment: P.Payment = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=2_000, currency_code="EUR", card=card)
    ).payment
    return payment


@pytest.mark.parametrize(
    ("number", "country", "funding"),
    [
        ("4000000760000002", "BR", "credit"),
        ("4000001240000000", "CA", "credit"),
        ("4000058260000005", "GB", "debit"),
        ("3530111333300000", "JP", "credit"),
        ("4000056655665556", "US", "debit"),
        ("5105105105105100", "US", "prepaid"),
        ("4242424242424242", "US", "credit"),
        ("4000000000009995", "US", "credit"),
        (OUTSIDE, "", "unknown"),
    ],
)
def test_the_payments_card_says_where_it_was_issued_and_how_it_is_funded(
    server_stubs: Stubs, shop: MerchantAccount, number: str, country: str, funding: str
) -> None:
    api = server_stubs.as_(shop.api_key)
    payment = pay(api, number)
    assert (payment.card.country, payment.card.funding) == (country, funding)
    stored = api.payments.GetPayment(P.GetPaymentRequest(payment_id=payment.id)).payment
    assert (stored.card.country, stored.card.funding, stored.card.last4) == (country, funding, number[-4:])
    listed = api.payments.ListPayments(P.ListPaymentsRequest(page_size=1)).payments
    assert (listed[0].card.country, listed[0].card.funding) == (country, funding)


def test_cards_outside_the_catalogue_approve_unless_the_merchant_refuses_them(
    server_stubs: Stubs, shop: MerchantAccount
) -> None:
    api, owner = server_stubs.as_(shop.api_key), server_stubs.as_(shop.access_token)
    merchant = owner.merchants.GetMerchant(M.GetMerchantRequest()).merchant
    assert merchant.unknown_cards == M.UNKNOWN_CARDS_APPROVE
    assert pay(api, OUTSIDE).status == P.PAYMENT_STATUS_CAPTURED

    update = M.UpdateMerchantRequest(unknown_cards=M.UNKNOWN_CARDS_REFUSE)
    assert owner.merchants.UpdateMerchant(update).merchant.unknown_cards == M.UNKNOWN_CARDS_REFUSE
    before = len(api.payments.ListPayments(P.ListPaymentsRequest()).payments)
    err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=2_000, card=card_of(OUTSIDE)))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.reason == "INVALID_ARGUMENT"
    assert err.violation_reasons == {"card.number": "CARD_NOT_IN_TEST_CATALOGUE"}
    assert OUTSIDE not in err.message and OUTSIDE not in str(err.field_violations)
    assert len(api.payments.ListPayments(P.ListPaymentsRequest()).payments) == before  # nothing stored
    assert pay(api, "4000000760000002").status == P.PAYMENT_STATUS_CAPTURED  # test cards still pay
    assert pay(api, "4000000000009995").status == P.PAYMENT_STATUS_DECLINED

    # An update that does not name the setting leaves it; naming APPROVE restores the default.
    owner.merchants.UpdateMerchant(M.UpdateMerchantRequest(fee_percent_bps=300))
    assert owner.merchants.GetMerchant(M.GetMerchantRequest()).merchant.unknown_cards == M.UNKNOWN_CARDS_REFUSE
    owner.merchants.UpdateMerchant(M.UpdateMerchantRequest(unknown_cards=M.UNKNOWN_CARDS_APPROVE))
    assert pay(api, OUTSIDE).status == P.PAYMENT_STATUS_CAPTURED


def card_of(number: str) -> P.CardInput:
    return P.CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")
