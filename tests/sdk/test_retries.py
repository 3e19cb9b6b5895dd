"""Retries that can never charge twice: the same idempotency key across the client's own retries,
through a connection dropped mid-call and a gateway error the server answers UNAVAILABLE."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from paysim_client import Client, RetryPolicy, SimulationOverride, errors
from paysim_client.types import CaptureMethod, PaymentStatus
from paysim_proto.v1 import payment_pb2

from tests.sdk.conftest import VISA, wait_for
from tests.support.client import operation, outcome
from tests.support.factories import MerchantAccount
from tests.support.harness import ServerHandle
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxy(server: ServerHandle) -> Iterator[TcpProxy]:
    """A cuttable connection between the client and the server."""
    tcp = TcpProxy("127.0.0.1", server.port)
    tcp.start()
    yield tcp
    tcp.close()


def _payments(server: ServerHandle, merchant: MerchantAccount) -> list[payment_pb2.Payment]:
    """The merchant's payments as the server has them, read past the proxy."""
    reply = server.stubs(merchant.api_key).payments.ListPayments(payment_pb2.ListPaymentsRequest(page_size=100))
    return list(reply.payments)


def test_a_connection_dropped_mid_create_is_retried_into_exactly_one_payment(
    server: ServerHandle, merchant: MerchantAccount, proxy: TcpProxy
) -> None:
    with (
        Client.connect(f"127.0.0.1:{proxy.port}", api_key=merchant.api_key) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        pending = pool.submit(
            client.payments.create,
            amount_minor=4321,
            card=VISA,
            description="the connection drops while the gateway works",
            simulate=SimulationOverride(latency_ms=1500),
        )
        # The server has the request (the payment is PROCESSING, the gateway call under way) when
        # the connection breaks: the answer is lost, the client sees UNAVAILABLE and retries.
        wait_for(lambda: len(_payments(server, merchant)) == 1, what="the payment to be recorded")
        proxy.cut()
        proxy.start()
        payment = pending.result(timeout=60)

    stored = _payments(server, merchant)
    assert [p.id for p in stored] == [payment.id]
    assert payment.status == PaymentStatus.PAYMENT_STATUS_CAPTURED and payment.amount_minor == 4321
    assert stored[0].captured_amount_minor == 4321
    assert proxy.connections >= 2, "the retry came over a new connection"


def test_a_gateway_error_on_capture_is_retried_into_exactly_one_capture(client: Client) -> None:
    payment = client.payments.create(amount_minor=3000, card=VISA, capture_method=CaptureMethod.CAPTURE_METHOD_MANUAL)
    client.simulator.script_outcomes("simulator", ["error"])
    captured = client.payments.capture(payment.id, idempotency_key=f"capture-{payment.id}")
    assert captured.status == PaymentStatus.PAYMENT_STATUS_CAPTURED and captured.captured_amount_minor == 3000
    kinds = [event.type for event in client.payments.events(payment.id)]
    assert kinds.count("payment.capture_failed") == 1 and kinds.count("payment.captured") == 1
    assert [outcome(a) for a in captured.attempts if operation(a) == "capture"] == ["error", "approved"]
    # The same key again replays the capture instead of capturing twice.
    again = client.payments.capture(payment.id, idempotency_key=f"capture-{payment.id}")
    assert again.version == captured.version and again.captured_amount_minor == 3000


def test_a_gateway_error_on_create_leaves_one_failed_attempt_and_one_charge(
    server: ServerHandle, merchant: MerchantAccount, client: Client
) -> None:
    # The server records the refused authorization as a FAILED payment and releases the key, so
    # the retry (same key) authorizes afresh: two payment records, one charge.
    client.simulator.script_outcomes("simulator", ["error"])
    payment = client.payments.create(amount_minor=2500, card=VISA)
    assert payment.status == PaymentStatus.PAYMENT_STATUS_CAPTURED
    statuses = sorted(PaymentStatus.Name(p.status) for p in _payments(server, merchant))
    assert statuses == ["PAYMENT_STATUS_CAPTURED", "PAYMENT_STATUS_FAILED"]


def test_a_second_request_with_a_key_in_flight_waits_for_the_first_ones_result(
    server: ServerHandle, merchant: MerchantAccount, client: Client
) -> None:
    key = "order-1042-create"
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(
            client.payments.create,
            amount_minor=1042,
            card=VISA,
            idempotency_key=key,
            simulate=SimulationOverride(latency_ms=1000),
        )
        wait_for(lambda: len(_payments(server, merchant)) == 1, what="the first request to be in flight")
        with pytest.raises(errors.IdempotencyKeyInUse) as caught:
            client.payments.create(amount_minor=1042, card=VISA, idempotency_key=key, retry=RetryPolicy.disabled())
        assert caught.value.retry_delay == pytest.approx(0.05) and caught.value.metadata["idempotency_key"] == key
        # With retries (the default) the same request waits out the first one and gets its result.
        second = client.payments.create(amount_minor=1042, card=VISA, idempotency_key=key)
        assert second.id == first.result(timeout=30).id
    assert len(_payments(server, merchant)) == 1


def test_only_calls_safe_to_repeat_are_retried_through_an_outage(merchant: MerchantAccount, proxy: TcpProxy) -> None:
    with Client.connect(f"127.0.0.1:{proxy.port}", api_key=merchant.api_key) as client:
        client.customers.create(email="before@example.test")
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(errors.Unavailable) as caught:
            client.customers.create(email="during@example.test")  # could act twice: one attempt
        assert caught.value.reason == "" and time.monotonic() - started < 2
        restore = threading.Timer(0.3, proxy.start)
        restore.start()
        try:
            emails = [c.email for c in client.customers.list()]  # a read: retried until the network is back
        finally:
            restore.join()
        assert emails == ["before@example.test"]
