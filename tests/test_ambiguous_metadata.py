"""Request metadata the server reads, sent more than once: never one of the values picked silently.

Two credentials are refused as UNAUTHENTICATED (``AMBIGUOUS_CREDENTIALS``); two idempotency keys or
simulation overrides as INVALID_ARGUMENT with a field violation (``DUPLICATE_METADATA``); two
request ids are both set aside for one the server makes."""

from __future__ import annotations

import grpc
import pytest
from paysim_proto.v1 import auth_pb2, payment_pb2, threeds_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import MerchantAccount, register_customer_user, register_merchant

P = payment_pb2
CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


@pytest.fixture(scope="module")
def shop(server) -> MerchantAccount:  # type: ignore[no-untyped-def]
    return register_merchant(server.stubs())


@pytest.fixture
def anonymous(stubs: Stubs) -> Stubs:
    return stubs.as_(None)


def bearer(credential: str) -> tuple[str, str]:
    return ("authorization", f"Bearer {credential}")


def payment_count(stubs: Stubs, shop: MerchantAccount) -> int:
    reply = stubs.as_(shop.api_key).payments.ListPayments(P.ListPaymentsRequest(page_size=100))
    return len(reply.payments)


def test_two_authorization_entries_are_refused(anonymous: Stubs, shop: MerchantAccount) -> None:
    other = register_customer_user(anonymous)
    for metadata in (
        [bearer(other.access_token), bearer(shop.api_key)],  # a token and a key
        [bearer(shop.api_key), bearer(other.access_token)],  # the other way round
        [bearer(shop.api_key), bearer(shop.api_key)],  # even the same one twice
    ):
        err = expect_error(anonymous.auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest(), metadata=metadata)
        assert err.code == grpc.StatusCode.UNAUTHENTICATED
        assert err.reason == "AMBIGUOUS_CREDENTIALS"


@pytest.mark.parametrize("joined", ["Bearer {token}, Bearer {key}", "Bearer {token} {key}", "Bearer {token},{key}"])
def test_two_credentials_in_one_authorization_entry_are_refused(
    anonymous: Stubs, shop: MerchantAccount, joined: str
) -> None:
    # What a proxy that merges repeated headers would forward.
    token = register_customer_user(anonymous).access_token
    header = ("authorization", joined.format(token=token, key=shop.api_key))
    err = expect_error(anonymous.auth.GetCurrentUser, auth_pb2.GetCurrentUserRequest(), metadata=[header])
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    assert err.reason == "AMBIGUOUS_CREDENTIALS"


def test_public_calls_refuse_two_credentials_too(anonymous: Stubs, shop: MerchantAccount) -> None:
    err = expect_error(
        anonymous.auth.Login,
        auth_pb2.LoginRequest(email="nobody@example.com", password="whatever it is"),
        metadata=[bearer(shop.api_key), bearer(shop.api_key)],
    )
    assert err.code == grpc.StatusCode.UNAUTHENTICATED and err.reason == "AMBIGUOUS_CREDENTIALS"


def test_two_idempotency_keys_are_refused_before_anything_happens(anonymous: Stubs, shop: MerchantAccount) -> None:
    api = anonymous.as_(shop.api_key)
    before = payment_count(anonymous, shop)
    err = expect_error(
        api.payments.CreatePayment,
        P.CreatePaymentRequest(amount_minor=1000, currency_code="USD", card=CARD),
        metadata=[("idempotency-key", "order-1"), ("idempotency-key", "order-2")],
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violation_reasons == {"idempotency-key": "DUPLICATE_METADATA"}
    assert payment_count(anonymous, shop) == before


@pytest.mark.parametrize(
    ("call", "request_message"),
    [
        ("payments.CapturePayment", P.CapturePaymentRequest(payment_id="pay_0000000000000000000000")),
        ("payments.VoidPayment", P.VoidPaymentRequest(payment_id="pay_0000000000000000000000")),
        ("payments.RefundPayment", P.RefundPaymentRequest(payment_id="pay_0000000000000000000000")),
        ("threeds.CompleteChallenge", threeds_pb2.CompleteChallengeRequest(payment_id="pay_0000000000000000000000")),
    ],
)
def test_every_keyed_call_refuses_two_idempotency_keys(
    anonymous: Stubs, shop: MerchantAccount, call: str, request_message: object
) -> None:
    group, method = call.split(".")
    stub = getattr(getattr(anonymous.as_(shop.api_key), group), method)
    err = expect_error(stub, request_message, metadata=[("idempotency-key", "k-1"), ("idempotency-key", "k-1")])
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violation_reasons == {"idempotency-key": "DUPLICATE_METADATA"}


@pytest.mark.parametrize(
    "metadata",
    [
        [("paysim-force-outcome", "approve"), ("paysim-force-outcome", "decline")],
        [("paysim-latency-ms", "0"), ("paysim-latency-ms", "5000")],
    ],
)
def test_two_simulation_overrides_of_one_kind_are_refused(
    anonymous: Stubs, shop: MerchantAccount, metadata: list[tuple[str, str]]
) -> None:
    before = payment_count(anonymous, shop)
    err = expect_error(
        anonymous.as_(shop.api_key).payments.CreatePayment,
        P.CreatePaymentRequest(amount_minor=1000, currency_code="USD", card=CARD),
        metadata=metadata,
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.violation_reasons == {metadata[0][0]: "DUPLICATE_METADATA"}
    assert payment_count(anonymous, shop) == before


def test_two_request_ids_are_replaced_by_one_the_server_makes(anonymous: Stubs) -> None:
    try:
        anonymous.auth.Login(
            auth_pb2.LoginRequest(),
            metadata=[("x-request-id", "trace-a"), ("x-request-id", "trace-b")],
        )
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata())  # type: ignore[attr-defined]
    else:
        raise AssertionError("an empty login was accepted")
    assert trailers["x-request-id"] not in {"trace-a", "trace-b"}
    assert len(trailers["x-request-id"]) == 32
