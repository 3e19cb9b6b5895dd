"""Nothing committed is lost when the server dies: a real ``paysim serve`` is killed with SIGKILL
after a payment's events (and their webhook deliveries) committed, once before any attempt and once
with an attempt in flight; after a restart on the same data, every event arrives."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import webhook_pb2 as W

from tests.support import backends
from tests.support.client import Stubs
from tests.support.factories import register_merchant
from tests.support.streams import wait_for
from tests.support.webhook_receiver import HANG, WebhookReceiver
from tests.test_serve_process import PAYSIM, ServerProcess, Target, _target

pytestmark = pytest.mark.skipif(not PAYSIM.exists(), reason=f"console script {PAYSIM} is not installed")

# An attempt times out after five seconds (the kill lands well before on any machine); its lease,
# what a restarted server waits for before trying again, runs out after six. Retries are quick.
FAST = {
    "PAYSIM_WEBHOOK_TIMEOUT_SECONDS": "5",
    "PAYSIM_WEBHOOK_LEASE_SECONDS": "6",
    "PAYSIM_WEBHOOK_POLL_SECONDS": "0.2",
    "PAYSIM_WEBHOOK_BACKOFF_SCALE": "0.001",
}


@pytest.fixture(scope="module", params=backends.available())
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(request.param, tmp_path_factory.mktemp(f"hooks-{request.param}"))


def _kill(server: ServerProcess) -> None:
    server.proc.send_signal(signal.SIGKILL)
    assert server.proc.wait(10) == -signal.SIGKILL
    server.stop()


def _pay(stubs: Stubs) -> P.Payment:
    card = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Kill Nine")
    payment: P.Payment = stubs.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=500, card=card)).payment
    return payment


def test_kill_9_between_commit_and_delivery_loses_nothing(target: Target, tmp_path: Path) -> None:
    receiver = WebhookReceiver()
    data = tmp_path / "data"
    try:
        # 1. A server that writes the outbox but sends nothing: the events commit, then it dies.
        first = ServerProcess(target, data, PAYSIM_WEBHOOK_DISPATCH="false", **FAST)
        first.wait_serving()
        shop = register_merchant(Stubs(first.channel))
        api = Stubs(first.channel, shop.api_key)
        api.webhooks.CreateWebhookEndpoint(W.CreateWebhookEndpointRequest(url=receiver.url, event_types=["*"]))
        before = _pay(api)
        events = {e.id for e in api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=before.id)).events}
        _kill(first)
        assert not receiver.received

        # 2. Restarted with dispatching on: every event arrives. The next payment's first attempt
        # hangs at the receiver, and the server is killed while it is in flight.
        receiver.script([HANG])
        second = ServerProcess(target, data, **FAST)
        second.wait_serving()
        receiver.wait_for(lambda got: len(got) >= 1)
        hanging = receiver.received[0].event_id
        _kill(second)
        receiver.release()

        third = ServerProcess(target, data, **FAST)
        try:
            third.wait_serving()
            got = receiver.wait_for(lambda rs: events <= {r.event_id for r in rs if r.status == 200}, timeout=30)
            assert [r.event_id for r in got].count(hanging) >= 2  # the lost attempt was made again
            api = Stubs(third.channel, shop.api_key)
            after = _pay(api)
            later = {
                e.id for e in api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=after.id)).events
            }
            receiver.wait_for(lambda rs: later <= {r.event_id for r in rs if r.status == 200}, timeout=30)

            def delivery_of_hanging() -> W.WebhookDelivery:
                listed = api.webhooks.ListWebhookDeliveries(W.ListWebhookDeliveriesRequest(event_id=hanging))
                (delivery,) = listed.webhook_deliveries
                return delivery

            # The receiver answers before the server records the answer: wait for the record.
            wait_for(
                lambda: delivery_of_hanging().state == W.WEBHOOK_DELIVERY_STATE_DELIVERED,
                timeout=30,
                what="the retried delivery to be recorded as delivered",
            )
            delivery = delivery_of_hanging()
            assert delivery.state == W.WEBHOOK_DELIVERY_STATE_DELIVERED and delivery.attempt_count >= 2
            # The killed attempt was never recorded; the one that delivered was.
            assert [a.http_status for a in delivery.attempts][-1] == 200
        finally:
            third.stop()
    finally:
        receiver.stop()
