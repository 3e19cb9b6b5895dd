"""``paysim serve --workers N``: several processes on one port (PostgreSQL), refused on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from paysim_proto.v1 import events_pb2, merchant_pb2, merchant_pb2_grpc, payment_pb2

from tests.support import backends
from tests.support.client import Stubs
from tests.support.factories import register_merchant
from tests.support.streams import EventStream, wait_for
from tests.test_serve_process import GRACE_SECONDS, ServerProcess, Target, _target, paysim_env, run_paysim

NOW = events_pb2.STREAM_START_NOW
CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2035, cvc="123", holder_name="Ann")


@pytest.fixture(scope="module", params=backends.available())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(request.param, tmp_path_factory.mktemp(f"workers-{request.param}"))


def test_workers_share_one_port_and_stop_together(target: Target, tmp_path: Path) -> None:
    if target.backend == "sqlite":
        done = run_paysim(paysim_env(target, tmp_path), "serve", "--workers", "2", "--listen", "127.0.0.1:50999")
        assert done.returncode == 2
        assert "single process" in done.stderr and "PostgreSQL" in done.stderr
        return
    server = ServerProcess(target, tmp_path, PAYSIM_WORKERS="2")
    try:
        server.wait_serving()
        # Many connections: the kernel spreads them over both workers; every one is served.
        for i in range(12):
            with grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
                reply = merchant_pb2_grpc.MerchantServiceStub(channel).RegisterMerchant(
                    merchant_pb2.RegisterMerchantRequest(
                        name=f"worker-shop-{i}-{server.port}",
                        owner_email=f"w{i}-{server.port}@example.test",
                        owner_password="correct horse battery",
                    ),
                    timeout=20,
                )
                assert reply.merchant.id.startswith("mer_")
        second = run_paysim(server.env, "serve", "--workers", "2", "--listen", server.address)
        assert second.returncode == 2 and "cannot listen" in second.stderr
    finally:
        server.proc.terminate()
        assert server.proc.wait(GRACE_SECONDS + 10) == 0
        server.stop()


def test_a_subscriber_on_one_worker_sees_payments_created_through_the_other(target: Target, tmp_path: Path) -> None:
    if target.backend == "sqlite":
        pytest.skip("the embedded SQLite database serves one process")
    # No periodic reads: only the database's notifications can bring the other worker's events.
    server = ServerProcess(target, tmp_path, PAYSIM_WORKERS="2", PAYSIM_EVENT_POLL_SECONDS="3600")
    own_connection = [("grpc.use_local_subchannel_pool", 1)]
    try:
        server.wait_serving()
        with grpc.insecure_channel(server.address, options=own_connection) as setup:
            shop = register_merchant(Stubs(setup))
        subscriber_channel = grpc.insecure_channel(server.address, options=own_connection)
        stream = EventStream(
            Stubs(subscriber_channel, shop.api_key), events_pb2.SubscribePaymentEventsRequest(start=NOW)
        )
        stream.opened()
        # Each payment over a connection of its own: the kernel spreads them over both workers.
        created: list[str] = []
        for i in range(16):
            with grpc.insecure_channel(server.address, options=own_connection) as channel:
                reply = Stubs(channel, shop.api_key).payments.CreatePayment(
                    payment_pb2.CreatePaymentRequest(amount_minor=100 + i, currency_code="USD", card=CARD)
                )
                created.append(reply.payment.id)
        received = stream.events(3 * len(created), timeout=60)
        assert sorted({e.payment_id for e in received}) == sorted(created)
        stream.cancel()
        subscriber_channel.close()

        # Which worker served what: every log line names its process.
        def served(method: str) -> set[int]:
            lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
            return {line["pid"] for line in lines if line.get("method") == method}

        subscribe_method = "/paysim.v1.EventService/SubscribePaymentEvents"
        wait_for(lambda: bool(served(subscribe_method)), what="the stream's access log line")
        assert served("/paysim.v1.PaymentService/CreatePayment") - served(subscribe_method), (
            "every payment happened to go to the subscriber's own worker"
        )
    finally:
        server.proc.terminate()
        assert server.proc.wait(GRACE_SECONDS + 10) == 0
        server.stop()
