"""A client deadline that cancels a request in the middle of a transaction must not leave a
broken connection in the pool for the next request."""

from __future__ import annotations

import grpc
from paysim_proto.v1 import payment_pb2 as P

from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")


def test_cancelled_requests_do_not_poison_pooled_connections(server: ServerHandle) -> None:
    api = server.stubs(register_merchant(server.stubs()).api_key)
    # Deadlines from 0 to 11 ms land at every point of the two transactions.
    for i in range(60):
        try:
            api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=CARD), timeout=0.001 * (i % 12))
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
    for _ in range(40):
        reply = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=CARD), timeout=10)
        assert reply.payment.status == P.PAYMENT_STATUS_CAPTURED
