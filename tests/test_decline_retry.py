"""What the README says a test written against Stripe's retry after a decline becomes in paysim:
the declined payment is final, its key replays it, and the retry is a new payment with a new key."""

from __future__ import annotations

import grpc
from paysim_proto.v1 import payment_pb2

from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant

P = payment_pb2


def card(number: str) -> P.CardInput:
    return P.CardInput(number=number, exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


def test_a_declined_payment_is_retried_as_a_new_payment_with_a_new_key(server) -> None:  # type: ignore[no-untyped-def]
    stubs: Stubs = server.stubs()
    api = stubs.as_(register_merchant(stubs).api_key)
    first_try = P.CreatePaymentRequest(amount_minor=2_000, card=card("4000000000009995"))
    declined = api.payments.CreatePayment(first_try, metadata=[("idempotency-key", "order-7")]).payment
    assert declined.status == P.PAYMENT_STATUS_DECLINED and declined.decline.retryable

    # The same key and request: the declined payment again, not a second attempt.
    again = api.payments.CreatePayment(first_try, metadata=[("idempotency-key", "order-7")]).payment
    assert (again.id, again.status) == (declined.id, P.PAYMENT_STATUS_DECLINED)
    # The same key with another card: the key belongs to the first request.
    second_try = P.CreatePaymentRequest(amount_minor=2_000, card=card("4242424242424242"))
    err = expect_error(api.payments.CreatePayment, second_try, metadata=[("idempotency-key", "order-7")])
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED")

    paid = api.payments.CreatePayment(second_try, metadata=[("idempotency-key", "order-7-retry-1")]).payment
    assert paid.id != declined.id and paid.status == P.PAYMENT_STATUS_CAPTURED
    still = api.payments.GetPayment(P.GetPaymentRequest(payment_id=declined.id)).payment
    assert still.status == P.PAYMENT_STATUS_DECLINED and len(still.attempts) == 1
