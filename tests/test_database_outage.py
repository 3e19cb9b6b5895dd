"""A real outage between the server and PostgreSQL, refused or silent: health goes NOT_SERVING,
calls fail with UNAVAILABLE + RetryInfo (never INTERNAL, never a hang), and both recover when the
database is back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paysim_proto.v1 import merchant_pb2, payment_pb2
from sqlalchemy.engine import make_url

from tests.support.backends import Backend
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.support.tcp_proxy import TcpProxy

CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")


@pytest.fixture
def proxy(backend: Backend) -> Iterator[TcpProxy]:
    if backend.name != "postgres":
        pytest.skip("an embedded SQLite file has no network to lose; covered on PostgreSQL")
    url = make_url(backend.database_url)
    tcp = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    tcp.start()
    yield tcp
    tcp.close()


def _wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.05)


def test_outage_and_recovery(proxy: TcpProxy, backend: Backend, make_server: Callable[..., ServerHandle]) -> None:
    proxied = make_url(backend.database_url).set(host="127.0.0.1", port=proxy.port)
    server = make_server(database_url=proxied.render_as_string(hide_password=False), health_probe_seconds=0.1)
    stubs = server.stubs()
    account = register_merchant(stubs)
    health = health_pb2_grpc.HealthStub(server.channel())

    def status() -> int:
        return health.Check(health_pb2.HealthCheckRequest(service="paysim.v1.MerchantService"), timeout=5).status

    assert status() == health_pb2.HealthCheckResponse.SERVING
    payments = stubs.as_(account.api_key).payments
    payment = payment_pb2.CreatePaymentRequest(amount_minor=100, card=CARD)
    assert payments.CreatePayment(payment).payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED  # pool warmed
    proxy.cut()
    _wait_for(lambda: status() == health_pb2.HealthCheckResponse.NOT_SERVING)
    err = expect_error(stubs.as_(account.api_key).merchants.GetMerchant, merchant_pb2.GetMerchantRequest())
    assert err.code == grpc.StatusCode.UNAVAILABLE
    assert err.reason == "DATABASE_UNAVAILABLE"
    assert err.retry_delay_seconds is not None
    err = expect_error(payments.CreatePayment, payment)  # the payments pool loses its connections too
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE")
    proxy.start()
    _wait_for(lambda: status() == health_pb2.HealthCheckResponse.SERVING)
    reply = stubs.as_(account.api_key).merchants.GetMerchant(merchant_pb2.GetMerchantRequest())
    assert reply.merchant.id == account.merchant_id
    assert payments.CreatePayment(payment).payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED


def test_a_database_that_stops_answering(
    proxy: TcpProxy, backend: Backend, make_server: Callable[..., ServerHandle]
) -> None:
    """Packets dropped rather than refused: the connections stay open and nothing comes back.
    Only the server's own deadlines (connect, statement, pool, probe) can end its waits."""
    proxied = make_url(backend.database_url).set(host="127.0.0.1", port=proxy.port)
    server = make_server(
        database_url=proxied.render_as_string(hide_password=False),
        health_probe_seconds=0.1,
        health_probe_timeout_seconds=1.0,
        db_statement_timeout_seconds=2.0,
        db_connect_timeout_seconds=2,
        db_pool_timeout_seconds=2.0,
        auth_cache_seconds=0,  # every call reads the database
    )
    stubs = server.stubs()
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    health = health_pb2_grpc.HealthStub(server.channel())

    def status() -> int:
        return health.Check(health_pb2.HealthCheckRequest(), timeout=5).status

    payment = payment_pb2.CreatePaymentRequest(amount_minor=100, card=CARD)
    calls = [
        (api.merchants.GetMerchant, merchant_pb2.GetMerchantRequest()),
        (api.payments.ListPayments, payment_pb2.ListPaymentsRequest()),
        (api.payments.CreatePayment, payment),
    ] * 3
    with ThreadPoolExecutor(len(calls)) as pool:
        # Side by side, so that both pools keep several connections open.
        list(pool.map(lambda call: call[0](call[1]), calls))
        assert status() == health_pb2.HealthCheckResponse.SERVING

        proxy.freeze()
        frozen = time.monotonic()
        # On pooled connections that stopped answering, and on new ones that cannot be opened:
        # each call ends with UNAVAILABLE, well before the client's own deadline.
        failing = [pool.submit(expect_error, method, request, timeout=30) for method, request in calls]
        _wait_for(lambda: status() == health_pb2.HealthCheckResponse.NOT_SERVING)
        assert time.monotonic() - frozen < 10, "health took too long to notice"
        errors = [f.result() for f in failing]
    for err in errors:
        assert err.code == grpc.StatusCode.UNAVAILABLE, err
        # Calls queued behind the stuck ones may find no pooled connection free in time.
        assert err.reason in {"DATABASE_UNAVAILABLE", "DATABASE_BUSY"}, err
        assert err.retry_delay_seconds is not None
    assert "DATABASE_UNAVAILABLE" in {err.reason for err in errors}

    proxy.thaw()
    _wait_for(lambda: status() == health_pb2.HealthCheckResponse.SERVING, timeout=30)
    _wait_for(lambda: _answers(api), timeout=30)
    assert api.merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant.id == account.merchant_id
    assert api.payments.CreatePayment(payment).payment.status == payment_pb2.PAYMENT_STATUS_CAPTURED


def _answers(api: Stubs) -> bool:
    """Whether a call goes through (pooled connections given up during the freeze are replaced
    as they are found)."""
    try:
        api.merchants.GetMerchant(merchant_pb2.GetMerchantRequest(), timeout=10)
    except grpc.RpcError:
        return False
    return True
